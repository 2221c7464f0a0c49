#!/usr/bin/env python3
"""The peer of `trainscope bench PRESET --peer`: the Forward-Forward step and the backprop step
of an `ff` preset written in NumPy, for timing against Trainscope on the same machine.

The same work as Trainscope's `ff` lab in supervised mode: a batch of B training digits, the
true label one-hot in the first ten pixels for the positives and a uniformly drawn wrong label
for the negatives, the input length-normalised, layers of ReLUs each trained on its own loss
softplus(theta - G+) + softplus(G- - theta) with G the sum of squared activities, the next layer
fed the length-normalised, detached activities; then the backprop twin (same widths, softmax
head, cross-entropy) on the plain images; Adam (burn's defaults: 0.9, 0.999, eps 1e-5) for every
parameter; float32 throughout. Gradients are written out by hand (NumPy has no autodiff).

Why NumPy and not PyTorch: PyPI's Linux wheel of torch is the CUDA build, and it does not import
without its several GB of NVIDIA library packages (checked with torch 2.15 installed with
--no-deps: `import torch` fails looking for libcublasLt). NumPy's wheel bundles OpenBLAS, whose
float32 matrix product is a strong, hand-tuned CPU kernel; the element-wise work runs on one
thread, as PyTorch's would for arrays this small only partly.

Usage: run by `trainscope bench PRESET --peer`, which talks to it over stdin/stdout (`--serve`:
it prints `ready`, then for each line `N` it runs N steps and prints `rate <steps per second>`).
`python3 scripts/bench_peer.py --steps 300` times one round by itself. On first use it creates a
virtual environment (default ~/.cache/trainscope/venv-peer) with NumPy from PyPI.
"""

import argparse
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

NUMPY = "numpy==2.4.6"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = Path.home() / ".cache" / "trainscope" / "venv-peer"


def ensure_venv(venv: Path) -> None:
    """Re-executes this script inside `venv` (created with NumPy from PyPI if missing)."""
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with {NUMPY} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", NUMPY],
            check=True,
            stdout=sys.stderr,
        )
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", default="500,500", help="hidden widths, comma-separated")
    p.add_argument("--batch", type=int, default=100, help="positives per step (as many negatives)")
    p.add_argument("--threshold", type=float, default=1.0, help="theta per unit (sum goodness)")
    p.add_argument("--lr", type=float, default=0.003, help="FF Adam step size")
    p.add_argument("--bp-lr", type=float, default=0.001, help="backprop twin's Adam step size")
    p.add_argument("--no-bp", action="store_true", help="FF alone, no backprop twin")
    p.add_argument("--threads", type=int, default=2, help="BLAS threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--steps", type=int, default=300, help="steps to time (without --serve)")
    p.add_argument("--serve", action="store_true", help="take step counts on stdin")
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    return p.parse_args()


def load_mnist_train(np):
    def read(name):
        with gzip.open(ROOT / "assets" / "mnist" / name, "rb") as f:
            return f.read()

    images = np.frombuffer(read("train-images-idx3-ubyte.gz"), dtype=np.uint8, offset=16)
    labels = np.frombuffer(read("train-labels-idx1-ubyte.gz"), dtype=np.uint8, offset=8)
    return images.reshape(-1, 784), labels.astype(np.int64)


class Adam:
    """burn's Adam (beta 0.9 / 0.999, eps 1e-5 added before bias correction), in place."""

    def __init__(self, np, params):
        self.np = np
        self.params = params
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads, lr):
        np = self.np
        self.t += 1
        b1, b2, eps = np.float32(0.9), np.float32(0.999), np.float32(1e-5)
        bc2 = np.float32(np.sqrt(1.0 - 0.999**self.t))
        combined = np.float32(bc2 / (1.0 - 0.9**self.t))
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= np.float32(lr) * combined * m / (np.sqrt(v) + eps * bc2)


def rms_normalize(np, x):
    return x / (np.sqrt((x * x).mean(axis=1, keepdims=True)) + np.float32(1e-8))


def softplus(np, x):
    return np.logaddexp(np.float32(0.0), x)


def sigmoid(np, x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


class Peer:
    def __init__(self, np, args):
        self.np = np
        self.args = args
        self.rng = np.random.default_rng(args.seed)
        self.images, self.labels = load_mnist_train(np)
        widths = [int(w) for w in args.layers.split(",") if w]
        self.b = args.batch
        sizes = [784, *widths]
        self.ff_w, self.ff_b = [], []
        for d_in, d_out in zip(sizes, sizes[1:]):
            self.ff_w.append((self.rng.standard_normal((d_in, d_out)) * np.sqrt(2 / d_in)).astype(np.float32))
            self.ff_b.append(np.zeros(d_out, np.float32))
        self.theta = [np.float32(args.threshold * w) for w in widths]
        self.ff_opt = Adam(np, self.ff_w + self.ff_b)
        self.bp = None
        if not args.no_bp:
            bp_sizes = [784, *widths, 10]
            ws, bs = [], []
            for d_in, d_out in zip(bp_sizes, bp_sizes[1:]):
                k = 1 / np.sqrt(d_in)
                ws.append(self.rng.uniform(-k, k, (d_in, d_out)).astype(np.float32))
                bs.append(self.rng.uniform(-k, k, d_out).astype(np.float32))
            self.bp = (ws, bs, Adam(np, ws + bs))
        self.order = self.rng.permutation(len(self.labels))
        self.cursor = 0

    def batch(self):
        np = self.np
        if self.cursor + self.b > len(self.order):
            self.order = self.rng.permutation(len(self.labels))
            self.cursor = 0
        idx = self.order[self.cursor : self.cursor + self.b]
        self.cursor += self.b
        return self.images[idx].astype(np.float32) / np.float32(255.0), self.labels[idx]

    def ff_step(self, x, y):
        np, b = self.np, self.b
        wrong = (y + 1 + self.rng.integers(0, 9, size=b)) % 10
        pos, neg = x.copy(), x.copy()
        pos[:, :10] = 0.0
        neg[:, :10] = 0.0
        pos[np.arange(b), y] = 1.0
        neg[np.arange(b), wrong] = 1.0
        h = rms_normalize(np, np.concatenate([pos, neg]))
        gw, gb, loss = [], [], np.float32(0.0)
        for l, (w, bias) in enumerate(zip(self.ff_w, self.ff_b)):
            if l > 0:
                h = rms_normalize(np, h)
            a = h @ w + bias
            act = np.maximum(a, np.float32(0.0))
            g = (act * act).sum(axis=1)
            s = np.concatenate([self.theta[l] - g[:b], g[b:] - self.theta[l]])
            floored = np.maximum(s, np.float32(-20.0))
            loss += softplus(np, floored).mean() * 2
            # d loss / d G: -sigmoid for positives, +sigmoid for negatives, zero below the floor.
            dg = sigmoid(np, floored) * (s > -20.0) / np.float32(b)
            dg[:b] *= -1
            da = (np.float32(2.0) * dg[:, None]) * act
            da *= a > 0
            gw.append(h.T @ da)
            gb.append(da.sum(axis=0))
            h = act
        self.ff_opt.step(gw + gb, self.args.lr)
        return loss

    def bp_step(self, x, y):
        np = self.np
        ws, bs, opt = self.bp
        hs, pre = [x], []
        for i, (w, bias) in enumerate(zip(ws, bs)):
            a = hs[-1] @ w + bias
            pre.append(a)
            hs.append(np.maximum(a, np.float32(0.0)) if i < len(ws) - 1 else a)
        z = hs[-1] - hs[-1].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        n = len(y)
        loss = -np.log(p[np.arange(n), y] + np.float32(1e-30)).mean()
        d = p
        d[np.arange(n), y] -= 1.0
        d /= np.float32(n)
        gws, gbs = [None] * len(ws), [None] * len(ws)
        for i in reversed(range(len(ws))):
            gws[i] = hs[i].T @ d
            gbs[i] = d.sum(axis=0)
            if i > 0:
                d = (d @ ws[i].T) * (pre[i - 1] > 0)
        opt.step(gws + gbs, self.args.bp_lr)
        return loss

    def step(self):
        x, y = self.batch()
        self.ff_step(x, y)
        if self.bp is not None:
            self.bp_step(x, y)

    def rate(self, steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        return steps / (time.perf_counter() - t0)


def main():
    args = parse_args()
    ensure_venv(args.venv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    peer = Peer(np, args)
    for _ in range(5):  # warm-up, as trainscope bench does
        peer.step()
    if not args.serve:
        print(f"numpy {np.__version__} peer: {peer.rate(args.steps):.1f} steps/s")
        return
    print(f"ready numpy {np.__version__}", flush=True)
    for line in sys.stdin:
        steps = int(line.strip() or 0)
        if steps <= 0:
            break
        print(f"rate {peer.rate(steps):.3f}", flush=True)


if __name__ == "__main__":
    main()
