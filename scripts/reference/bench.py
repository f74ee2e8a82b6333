"""bench.py: the PyTorch side of scripts/bench.sh, and its report.

    /usr/bin/python3 scripts/reference/bench.py measure --config small --units 500 --steps 100
    /usr/bin/python3 scripts/reference/bench.py report --config small --units 500 --go go.json --torch torch.json

`measure` times fmref.py (the project's own PyTorch reference of the network) on a shipped
config (configs/<name>.yaml): the training step (reset, forward over the config's train
window and batch, Poisson loss, backward, SgdClip update) and the streaming inference step
(one frame of batch_size sequences through every stream, no autograd). It prints one JSON
object: seconds per step (mean, median and minimum over --steps steps after 3 warm-up
steps), the peak resident memory and the resident memory after step 10 and after the last.
PyTorch runs with 2 threads (torch.set_num_threads(2), TOOLCHAIN.md 1); give it glibc's
tuned malloc through GLIBC_TUNABLES (TOOLCHAIN.md 7), as scripts/bench.sh does.

`report` reads the Go (written by scripts/bench.sh from the Go benchmarks) and PyTorch JSON
and prints the comparison table: mean seconds per step, the ratio Go/PyTorch, the achieved
GFLOP/s (FLOPs estimated from the convolution, attention and readout shapes of the config by
flops_per_frame) and the memory figures.

Inputs are random, drawn the same way on both sides but not bit-identical: the cost of the
network does not depend on the values.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmref  # noqa: E402

REPO = os.path.abspath(os.path.join(fmref.HERE, "..", ".."))


def load(name, units):
    """The fmref config dict and the train section of configs/<name>.yaml."""
    with open(os.path.join(REPO, "configs", name + ".yaml")) as f:
        doc = yaml.safe_load(f)
    cfg = dict(doc["model"])
    cfg["dims"] = {"perspectives": 2, "modulations": 2, "units": units}
    tr = doc.get("train", {})
    train = {
        "batch_size": tr.get("batch_size", 4),
        "window": tr.get("window", 100),
        "burnin": tr.get("burnin", 10),
        "optimizer": dict({"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4, "clip": 0.01, "eps": 1e-3},
                          **tr.get("optimizer", {})),
    }
    return cfg, train


# ---------------------------------------------------------------------------
# FLOP estimate (multiply and add counted as 2)
# ---------------------------------------------------------------------------


def conv_flops(cin, cout, groups, kt, kh, kw, pixels):
    return 2 * (cin // groups) * cout * kt * kh * kw * pixels


def flops_per_frame(cfg, units):
    """Forward FLOPs of one frame of one stream: every convolution (im2col product), the
    attention products and the readout; elementwise work is not counted."""
    p, fc, rc = cfg["perspective"], cfg["core"]["feedforward"], cfg["core"]["recurrent"]
    h, w = p["retina_height"], p["retina_width"]
    k0, s0 = fc["input_kernel"], fc["input_stride"]
    pad = (k0 - s0) // 2
    h, w = (h + 2 * pad - k0) // s0 + 1, (w + 2 * pad - k0) // s0 + 1
    total = conv_flops(1, fc["channels"][0], 1, 1, k0, k0, h * w)
    prev = None
    for b, c in enumerate(fc["channels"]):
        g, L, kt, ks = fc["groups"][b], fc["layers"][b], fc["temporal"][b], fc["spatial"][b]
        if b > 0:
            total += conv_flops(prev, c, 1, 1, 1, 1, h * w)
        for l in range(L):
            total += conv_flops(c, c, g, kt, ks, ks, h * w)
            if l > 0:
                total += conv_flops(l * c, c, g, 1, 1, 1, h * w)
        prev = (L + 1) * c
        if fc["pools"][b] > 1:
            h, w = h // fc["pools"][b], w // fc["pools"][b]
    total += conv_flops(prev, fc["out_channels"], 1, 1, 1, 1, h * w)
    P, G = h * w, rc["groups"]
    cin, hid, out = rc["in"], rc["hidden"], rc["out_channels"]
    total += conv_flops(fc["out_channels"], cin, 1, 1, 1, 1, P)  # proj_f
    if G > 1:
        total += conv_flops(hid, cin, 1, 1, 1, 1, P)  # proj_h (dense, zero diagonal blocks)
    if rc["type"] == "cvt_lstm":
        com, k = rc["common"], rc["spatial"]
        total += conv_flops(cin + hid, com, G, 1, k, k, P)  # z
        total += 3 * conv_flops(com, com, G, 1, 1, 1, P)  # q, k, v
        total += 2 * 2 * com * P * P  # q·k and attention·v, all groups
        total += conv_flops(2 * com, 4 * hid, G, 1, 1, 1, P)  # gates
    else:
        k = rc["spatial"]
        total += conv_flops(cin + hid, 4 * hid, G, 1, k, k, P)
    total += conv_flops(hid, out, 1, 1, 1, 1, P)  # out
    total += 2 * units * out  # readout features
    return total


# ---------------------------------------------------------------------------
# SgdClip (MODEL.md 7.4), the update internal/train applies
# ---------------------------------------------------------------------------


class SgdClip:
    """Adaptive clipping (per output row for weights, whole tensor otherwise), Nesterov
    momentum, decoupled weight decay: the work of internal/train.SgdClip, not its exact
    norm layout per parameter."""

    def __init__(self, params, opt):
        self.params = params
        self.o = opt
        self.buf = {}

    @torch.no_grad()
    def step(self, lr):
        o = self.o
        for name, p in self.params.items():
            g = p.grad
            if g is None:
                continue
            if p.dim() >= 2:
                dims = tuple(range(1, p.dim()))
                pn = torch.linalg.vector_norm(p, dim=dims, keepdim=True)
                dn = torch.linalg.vector_norm(g, dim=dims, keepdim=True)
            else:
                pn, dn = p.norm(), g.norm()
            m = torch.clamp(o["clip"] * pn, min=o["eps"] * p.numel() ** 0.5)
            d = g * (m / torch.maximum(dn, m))
            b = self.buf.get(name)
            b = d.clone() if b is None else b.mul_(o["momentum"]).add_(d)
            self.buf[name] = b
            d = d + o["momentum"] * b if o["nesterov"] else b
            if p.dim() >= 2:
                d = d + o["weight_decay"] * p
            p.sub_(lr * d)
            p.grad = None


# ---------------------------------------------------------------------------
# measurement
# ---------------------------------------------------------------------------


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def inputs(cfg, T, N, gen):
    stim = torch.randint(0, 256, (T, N, cfg["stimulus_height"], cfg["stimulus_width"]), generator=gen, dtype=torch.uint8)
    persp = torch.randn(T, N, 2, generator=gen)
    mod = torch.randn(T, N, 2, generator=gen)
    return stim, persp, mod


def timed(fn, steps, warmup=3):
    """Runs fn warmup + steps times; returns the per-step seconds and the RSS after step 10
    and after the last step."""
    for _ in range(warmup):
        fn(-1)
    times, rss10 = [], None
    for i in range(steps):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
        if i == min(9, steps - 1):
            rss10 = rss_mb()
    return times, rss10, rss_mb()


def measure(args):
    torch.set_num_threads(args.threads)
    cfg, train = load(args.config, args.units)
    N = args.batch or train["batch_size"]
    T, burnin, U, S = train["window"], train["burnin"], args.units, cfg["streams"]
    net = fmref.Network(cfg)
    net.store.initialize("fixture", 0, torch.float32)
    gen = torch.Generator().manual_seed(1)
    out = {"config": args.config, "units": U, "batch": N, "window": T, "streams": S, "threads": torch.get_num_threads(),
           "torch": torch.__version__, "glibc_tunables": os.environ.get("GLIBC_TUNABLES", "")}

    if args.mode in ("train", "both"):
        stim, persp, mod = inputs(cfg, T, N, gen)
        targets = torch.rand(T, N, U, generator=gen) * 2
        opt = SgdClip(net.store.values, train["optimizer"])

        def train_step(i):
            s = max(i, 0) % S
            net.reset(torch.randn(N, 3, generator=gen), torch.randn(N, 3, generator=gen), torch.randn(N, U, 2, generator=gen))
            loss = fmref.poisson_loss(net.run(stim, persp, mod, stream=s), targets, burnin)
            loss.backward()
            opt.step(train["optimizer"]["lr"])

        times, rss10, rss_end = timed(train_step, args.steps)
        out["train"] = summary(times, rss10, rss_end)

    if args.mode in ("stream", "both"):
        F = 16
        stim, persp, mod = inputs(cfg, F, N, gen)
        net.reset()

        def stream_step(i):
            t = max(i, 0) % F
            with torch.no_grad():
                torch.exp(net.step(stim[t], persp[t], mod[t], stream=None))

        times, rss10, rss_end = timed(stream_step, args.stream_steps or args.steps)
        out["stream"] = summary(times, rss10, rss_end)
    json.dump(out, sys.stdout, indent=1)
    print()


def summary(times, rss10, rss_end):
    """Per-step figures; peak_mb is the process's peak so far (run one mode per process for a
    peak of its own)."""
    return {"mean_s": statistics.fmean(times), "median_s": statistics.median(times), "min_s": min(times),
            "steps": len(times), "rss_growth_mb": rss_end - rss10, "rss_mb_step10": rss10, "rss_mb_end": rss_end,
            "peak_mb": peak_mb()}


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def merged(paths):
    """The JSON objects of paths merged into one (later keys win)."""
    out = {}
    for p in paths:
        with open(p) as f:
            out.update(json.load(f))
    return out


def report(args):
    go, pt = merged(args.go), merged(args.torch)
    cfg, train = load(args.config, args.units)
    S = cfg["streams"]
    fpf = flops_per_frame(cfg, args.units)
    print(f"config {args.config}: {args.units} units, {S} streams; forward {fpf / 1e6:.1f} MFLOP per frame and stream "
          "(convolutions, attention, readout)")
    print(f"{'step (mean of all steps)':<38}{'Go s':>9}{'PyTorch s':>11}{'Go/PyTorch':>12}{'Go GFLOP/s':>12}{'PT GFLOP/s':>12}")
    for key in ("train", "stream"):
        if key not in go or key not in pt:
            continue
        N = pt["batch"]
        if key == "train":
            T = pt["window"]
            name = f"train (N={N}, T={T}, fwd+bwd+update)"
            flops = 3 * fpf * N * T  # forward, backward to data and to weights; one stream
        else:
            name = f"stream (N={N}, one frame, {S} streams)"
            flops = fpf * N * S
        g, p = go[key]["mean_s"], pt[key]["mean_s"]
        print(f"{name:<38}{g:>9.4f}{p:>11.4f}{g / p:>12.2f}{flops / g / 1e9:>12.1f}{flops / p / 1e9:>12.1f}")
    for key in ("train", "stream"):
        if key not in go or key not in pt:
            continue
        g, p = go[key], pt[key]
        cores = f", {g['cpu_s'] / g['mean_s']:.2f} cores busy" if g.get("cpu_s") else ""
        grow = "n/a" if g.get("rss_growth_mb") is None else f"{g['rss_growth_mb']:+.0f} MB"
        live = "" if g.get("live_growth_mb") is None else f" (live heap {g['live_growth_mb']:+.1f} MB)"
        print(f"memory, {key}: Go peak RSS {g['peak_mb']:.0f} MB, RSS step 10 → {g['steps']}: {grow}{live}{cores}; "
              f"PyTorch peak RSS {p['peak_mb']:.0f} MB, RSS step 10 → {p['steps']}: {p['rss_growth_mb']:+.0f} MB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure", help="time the PyTorch reference, print JSON")
    m.add_argument("--config", default="small")
    m.add_argument("--units", type=int, default=500)
    m.add_argument("--batch", type=int, default=0, help="sequences; 0: the config's train.batch_size")
    m.add_argument("--steps", type=int, default=100)
    m.add_argument("--stream-steps", type=int, default=0, help="streaming steps; 0: --steps")
    m.add_argument("--mode", choices=("train", "stream", "both"), default="both")
    m.add_argument("--threads", type=int, default=2)
    r = sub.add_parser("report", help="compare Go and PyTorch JSON")
    r.add_argument("--config", default="small")
    r.add_argument("--units", type=int, default=500)
    r.add_argument("--go", action="append", required=True, help="Go JSON (repeatable)")
    r.add_argument("--torch", action="append", required=True, help="PyTorch JSON (repeatable)")
    args = ap.parse_args()
    measure(args) if args.cmd == "measure" else report(args)


if __name__ == "__main__":
    main()
