#!/usr/bin/env python3
"""The peer of `trainscope bench PRESET --peer`: the Forward-Forward step and the backprop step
of an `ff` preset written in PyTorch (what a researcher would use instead), and the same step in
NumPy, for timing against Trainscope on the same machine.

The same work as Trainscope's `ff` lab in supervised mode: a batch of B training digits, the
true label one-hot in the first ten pixels for the positives and a uniformly drawn wrong label
for the negatives, the input length-normalised, layers of ReLUs each trained on its own loss
softplus(theta - G+) + softplus(G- - theta) with G the sum of squared activities, the next layer
fed the length-normalised, detached activities; then the backprop twin (same widths, softmax
head, cross-entropy) on the plain images; Adam (0.9, 0.999, eps 1e-5, burn's defaults) for every
parameter; float32 throughout.

- `--peer torch` (the default): PyTorch as a researcher writes it: `nn.Linear` layers, autograd,
  `torch.optim.Adam` (its default multi-tensor implementation), `torch.set_num_threads(threads)`.
  PyPI's Linux wheel of torch is the CUDA build: it needs its NVIDIA library packages (about
  2.8 GB of downloads, 5.3 GB installed) even to run on the CPU, so the first use takes a while.
  If torch cannot be installed or imported, the script says so on stderr and falls back to the
  NumPy peer (its `ready` line then names numpy, and trainscope prints `ratio_vs_numpy`).
- `--peer numpy`: the same step with the gradients written out by hand; NumPy's wheel bundles
  OpenBLAS for the matrix products, and the element-wise work runs on one thread.

Usage: run by `trainscope bench PRESET --peer`, which talks to it over stdin/stdout (`--serve`:
it prints `ready <library> <version>`, then for each line `N` it runs N steps and prints
`rate <steps per second>`). `python3 scripts/bench_peer.py --steps 300 [--peer numpy]` times one
round by itself. On first use it creates a virtual environment with the pinned packages from
PyPI: TORCH_VENV (default ~/.cache/trainscope-peer-venv) for torch, NUMPY_VENV (default
~/.cache/trainscope/venv-peer) for NumPy alone.
"""

import argparse
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

NUMPY = "numpy==2.4.6"
TORCH = "torch==2.15.0"
ROOT = Path(__file__).resolve().parent.parent
NUMPY_VENV = Path(os.environ.get("NUMPY_VENV", Path.home() / ".cache" / "trainscope" / "venv-peer"))
TORCH_VENV = Path(os.environ.get("TORCH_VENV", Path.home() / ".cache" / "trainscope-peer-venv"))


def say(msg: str) -> None:
    print(f"bench_peer: {msg}", file=sys.stderr, flush=True)


def inside(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv.resolve()


def make_venv(venv: Path, packages) -> bool:
    """Creates `venv` with `packages` from PyPI unless it already has a python; False on failure."""
    python = venv / "bin" / "python"
    if python.exists():
        return True
    say(f"creating {venv} with {' '.join(packages)} from PyPI ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *packages],
            check=True,
            stdout=sys.stderr,
        )
    except (OSError, subprocess.CalledProcessError) as e:
        say(f"installing {' '.join(packages)} into {venv} failed: {e}")
        return False
    return True


def reexec(venv: Path, argv) -> None:
    python = venv / "bin" / "python"
    os.execv(str(python), [str(python), __file__, *argv])


def fall_back_to_numpy(why: str) -> None:
    say(f"PyTorch is not available ({why}); FALLING BACK TO THE NUMPY PEER")
    argv = [a for a in sys.argv[1:]]
    if "--peer" in argv:
        i = argv.index("--peer")
        del argv[i : i + 2]
    argv += ["--peer", "numpy"]
    if not inside(NUMPY_VENV) and not make_venv(NUMPY_VENV, [NUMPY]):
        sys.exit("bench_peer: the NumPy peer's venv could not be made either")
    reexec(NUMPY_VENV, argv)


def ensure_env(peer: str) -> None:
    """Re-executes this script inside the peer's venv (made on first use)."""
    if peer == "torch":
        if inside(TORCH_VENV):
            return
        if not make_venv(TORCH_VENV, [TORCH, NUMPY]):
            fall_back_to_numpy(f"pip could not install {TORCH}")
        reexec(TORCH_VENV, sys.argv[1:])
    # NumPy runs from either venv (the torch one has it too).
    if inside(NUMPY_VENV) or inside(TORCH_VENV):
        return
    if not make_venv(NUMPY_VENV, [NUMPY]):
        sys.exit("bench_peer: could not make the NumPy peer's venv")
    reexec(NUMPY_VENV, sys.argv[1:])


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
    p.add_argument("--peer", choices=["torch", "numpy"], default="torch", help="which library")
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
    """What both peers share: one training step (the FF step, then the BP twin's) and its rate.
    A peer defines batch(), ff_step(x, y), bp_step(x, y) and bp (None without the twin)."""

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


class NumpyPeer(Peer):
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



class TorchPeer(Peer):
    """The same two steps in PyTorch: nn.Linear layers, autograd, torch.optim.Adam."""

    def __init__(self, torch, args):
        self.torch = torch
        self.args = args
        torch.manual_seed(args.seed)
        self.gen = torch.Generator().manual_seed(args.seed)

        def read(name):
            with gzip.open(ROOT / "assets" / "mnist" / name, "rb") as f:
                return bytearray(f.read())

        self.images = torch.frombuffer(read("train-images-idx3-ubyte.gz")[16:], dtype=torch.uint8)
        self.images = self.images.reshape(-1, 784)
        self.labels = torch.frombuffer(read("train-labels-idx1-ubyte.gz")[8:], dtype=torch.uint8)
        self.labels = self.labels.long()
        widths = [int(w) for w in args.layers.split(",") if w]
        self.b = args.batch
        nn = torch.nn
        sizes = [784, *widths]
        self.ff = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes, sizes[1:]))
        for layer in self.ff:  # He init, zero bias, as the lab
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
        self.theta = [args.threshold * w for w in widths]
        adam = dict(betas=(0.9, 0.999), eps=1e-5)
        self.ff_opt = torch.optim.Adam(self.ff.parameters(), lr=args.lr, **adam)
        self.bp = None
        if not args.no_bp:
            layers = []
            bp_sizes = [784, *widths]
            for i, o in zip(bp_sizes, bp_sizes[1:]):
                layers += [nn.Linear(i, o), nn.ReLU()]
            self.bp = nn.Sequential(*layers, nn.Linear(bp_sizes[-1], 10))
            self.bp_opt = torch.optim.Adam(self.bp.parameters(), lr=args.bp_lr, **adam)
        self.order = torch.randperm(len(self.labels), generator=self.gen)
        self.cursor = 0

    def batch(self):
        if self.cursor + self.b > len(self.order):
            self.order = self.torch.randperm(len(self.labels), generator=self.gen)
            self.cursor = 0
        idx = self.order[self.cursor : self.cursor + self.b]
        self.cursor += self.b
        return self.images[idx].float() / 255.0, self.labels[idx]

    def rms_normalize(self, x):
        return x / (x.pow(2).mean(dim=1, keepdim=True).sqrt() + 1e-8)

    def ff_step(self, x, y):
        torch, b = self.torch, self.b
        wrong = (y + 1 + torch.randint(0, 9, (b,), generator=self.gen)) % 10
        pos, neg = x.clone(), x.clone()
        pos[:, :10] = 0.0
        neg[:, :10] = 0.0
        rows = torch.arange(b)
        pos[rows, y] = 1.0
        neg[rows, wrong] = 1.0
        h = self.rms_normalize(torch.cat([pos, neg]))
        loss = 0.0
        for l, layer in enumerate(self.ff):
            if l > 0:
                h = self.rms_normalize(h.detach())
            act = torch.relu(layer(h))
            g = act.pow(2).sum(dim=1)
            s = torch.cat([self.theta[l] - g[:b], g[b:] - self.theta[l]])
            sp = torch.nn.functional.softplus(s.clamp_min(-20.0))
            loss = loss + sp[:b].mean() + sp[b:].mean()
            h = act
        self.ff_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.ff_opt.step()
        return loss.item()

    def bp_step(self, x, y):
        loss = self.torch.nn.functional.cross_entropy(self.bp(x), y)
        self.bp_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.bp_opt.step()
        return loss.item()



def make_peer(args):
    """The peer and its name (`pytorch 2.15.0`, `numpy 2.4.6`); sets the thread counts first."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if args.peer == "torch":
        try:
            import torch
        except ImportError as e:  # e.g. a CUDA library the wheel needs is missing
            fall_back_to_numpy(f"import torch failed: {e}")
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
        # A CUDA build of the wheel: name it by its release, the CPU is what runs here.
        return TorchPeer(torch, args), f"pytorch {torch.__version__.split('+')[0]}"
    import numpy as np

    return NumpyPeer(np, args), f"numpy {np.__version__}"


def main():
    args = parse_args()
    ensure_env(args.peer)
    peer, name = make_peer(args)
    for _ in range(5):  # warm-up, as trainscope bench does
        peer.step()
    if not args.serve:
        print(f"{name} peer: {peer.rate(args.steps):.1f} steps/s")
        return
    print(f"ready {name}", flush=True)
    for line in sys.stdin:
        steps = int(line.strip() or 0)
        if steps <= 0:
            break
        print(f"rate {peer.rate(steps):.3f}", flush=True)


if __name__ == "__main__":
    main()
