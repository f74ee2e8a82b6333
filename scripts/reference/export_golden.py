"""Writes fmcore's golden parity fixtures from the PyTorch reference fmref.py.

Run from anywhere (paths are relative to the repository root):

    /usr/bin/python3 scripts/reference/export_golden.py

Every case folder holds params/, inputs/, outputs/ (and grads/ for float64 cases) with one
.npy per tensor, plus case.json (config, shapes, stream, mode, dtype, seeds, torch version,
command). Gradients are those of loss = sum(output * inputs/R) unless case.json says
otherwise. Each case is written twice: float64 (with grads) and float32 (suffix _f32: same
values rounded to float32 and computed in float32; params, inputs and outputs only).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmref  # noqa: E402

REPO = os.path.abspath(os.path.join(fmref.HERE, "..", ".."))
COMMAND = "/usr/bin/python3 scripts/reference/export_golden.py"


def torch_package_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"], capture_output=True, text=True)
        return out.stdout.strip() or None
    except OSError:
        return None


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_net(cfg, base, dtype):
    """A network of cfg whose parameters are base's values cast to dtype (fresh leaves)."""
    net = fmref.Network(cfg)
    for name in net.store.specs:
        net.store.values[name] = base.values[name].detach().to(dtype).requires_grad_(True)
    return net


def leaf(t):
    return t.detach().clone().requires_grad_(t.is_floating_point())


def to_numpy(t):
    a = t.detach().cpu().numpy()
    if a.ndim == 0:
        a = a.reshape(1)  # gorgonia's ReadNpy wants at least one axis
    return np.ascontiguousarray(a)


class Case:
    """One fixture: the tensors and metadata of a case, in one dtype."""

    def __init__(self, folder, description, stream, mode):
        self.folder, self.description, self.stream, self.mode = folder, description, stream, mode
        self.params, self.inputs, self.outputs, self.grads = {}, {}, {}, {}
        self.meta = {}


def finish_grads(case, loss, param_names, net, float_inputs):
    """Fills case.grads with d loss / d (every named parameter and every float input)."""
    targets = [(f"params/{n}", net.store[n]) for n in param_names] + [(f"inputs/{k}", v) for k, v in float_inputs.items()]
    grads = torch.autograd.grad(loss, [t for _, t in targets], allow_unused=True)
    no_grad = []
    for (key, _), g in zip(targets, grads):
        if g is None:
            no_grad.append(key.split("/", 1)[1])
        else:
            case.grads[key.split("/", 1)[1]] = g
    case.meta["no_grad"] = no_grad


def sum_loss(case, out, gen):
    r = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    case.inputs["R"] = r
    return (out * r).sum()


# ---------------------------------------------------------------------------
# cases: each takes (cfg, base store, dtype, input seed, with_grads) and returns a Case
# ---------------------------------------------------------------------------


def case_perspective(train):
    def build(cfg, base, dtype, seed, with_grads):
        net = make_net(cfg, base, dtype)
        N = cfg["fixture"]["batch"]
        gen = torch.Generator().manual_seed(seed)
        case = Case(
            "model/perspective/testdata/golden/" + ("train" if train else "eval"),
            "perspective (MODEL.md 4.1): stimulus frame [N,1,Hi,Wi] (float pixel values 0..255) and eye [N,2] -> retina [N,1,Ho,Wo]"
            + ("; training jitter from center_noise, angle_noise [N,3]" if train else "; no jitter"),
            None,
            "train" if train else "eval",
        )
        stim = torch.randint(0, 256, (N, 1, cfg["stimulus_height"], cfg["stimulus_width"]), generator=gen).to(dtype)
        eye = torch.randn(N, 2, generator=gen, dtype=torch.float64).to(dtype)
        ins = {"stimulus": leaf(stim), "eye": leaf(eye)}
        if train:
            ins["center_noise"] = leaf(torch.randn(N, 3, generator=gen, dtype=torch.float64).to(dtype))
            ins["angle_noise"] = leaf(torch.randn(N, 3, generator=gen, dtype=torch.float64).to(dtype))
        p = net.perspective
        p.reset()
        out = p.forward(ins["stimulus"], ins["eye"], ins.get("center_noise"), ins.get("angle_noise"))
        case.inputs.update(ins)
        case.outputs["retina"] = out
        case.outputs["angles"] = p.eye_angles(ins["eye"])
        names = net.store.names("perspective.")
        case.params = {n: net.store[n] for n in names}
        if with_grads:
            finish_grads(case, sum_loss(case, out, gen), names, net, ins)
            case.meta["loss"] = "sum(outputs/retina * inputs/R)"
        return case

    return build


def _seq_inputs(gen, shape, dtype, scale=1.0, low=None):
    if low is not None:
        t = low + (scale - low) * torch.rand(shape, generator=gen, dtype=torch.float64)
    else:
        t = scale * torch.randn(shape, generator=gen, dtype=torch.float64)
    return leaf(t.to(dtype))


def case_modulation(cfg, base, dtype, seed, with_grads):
    net = make_net(cfg, base, dtype)
    T, N = cfg["fixture"]["frames"], cfg["fixture"]["batch"]
    gen = torch.Generator().manual_seed(seed)
    case = Case(
        "model/modulation/testdata/golden/stream0",
        "modulation MlpLstm (MODEL.md 4.2), stream 0: behaviour [T,N,2] -> modulation [T,N,hidden], T steps from reset",
        0,
        "train",
    )
    beh = _seq_inputs(gen, (T, N, 2), dtype)
    m = net.modulation[0]
    m.reset()
    out = torch.stack([m.step(beh[t]) for t in range(T)])
    case.inputs["behavior"] = beh
    case.outputs["modulation"] = out
    names = [n for n in net.store.names("modulation.") if fmref.stream_of(n) == 0]
    case.params = {n: net.store[n] for n in names}
    if with_grads:
        finish_grads(case, sum_loss(case, out, gen), names, net, {"behavior": beh})
        case.meta["loss"] = "sum(outputs/modulation * inputs/R)"
    return case


def case_feedforward(cfg, base, dtype, seed, with_grads):
    net = make_net(cfg, base, dtype)
    T, N = cfg["fixture"]["frames"], cfg["fixture"]["batch"]
    pc = cfg["perspective"]
    gen = torch.Generator().manual_seed(seed)
    case = Case(
        "model/core/testdata/golden/feedforward",
        "core feedforward InputDense (MODEL.md 4.3), stream 0: retina [T,N,1,Ho,Wo] -> [T,N,out,Ho/8,Wo/8], frame by frame from reset",
        0,
        "train",
    )
    retina = _seq_inputs(gen, (T, N, 1, pc["retina_height"], pc["retina_width"]), dtype, scale=1.0, low=-0.2)
    ff = net.feedforward[0]
    ff.reset()
    out = torch.stack([ff.step(retina[t]) for t in range(T)])
    case.inputs["retina"] = retina
    case.outputs["feedforward"] = out
    names = [n for n in net.store.names("core.feedforward.") if fmref.stream_of(n) == 0]
    case.params = {n: net.store[n] for n in names}
    if with_grads:
        finish_grads(case, sum_loss(case, out, gen), names, net, {"retina": retina})
        case.meta["loss"] = "sum(outputs/feedforward * inputs/R)"
    return case


def case_recurrent(kind):
    def build(cfg, base, dtype, seed, with_grads):
        net = make_net(cfg, base, dtype)
        assert cfg["core"]["recurrent"]["type"] == kind
        T, N = cfg["fixture"]["frames"], cfg["fixture"]["batch"]
        ffc = cfg["core"]["feedforward"]
        h = cfg["perspective"]["retina_height"] // 8
        w = cfg["perspective"]["retina_width"] // 8
        gen = torch.Generator().manual_seed(seed)
        case = Case(
            f"model/core/testdata/golden/{kind}",
            f"core recurrent {kind} (MODEL.md {'4.4' if kind == 'cvt_lstm' else '4.5'}), stream 0: feedforward [T,N,C,H,W] and "
            "modulation [T,N,M] -> recurrent output [T,N,out,H,W], T steps from reset (h = c = 0)",
            0,
            "train",
        )
        f = _seq_inputs(gen, (T, N, ffc["out_channels"], h, w), dtype, scale=0.6)
        m = _seq_inputs(gen, (T, N, cfg["modulation"]["hidden"]), dtype, scale=0.3)
        rec = net.recurrent[0]
        rec.reset()
        out = torch.stack([rec.step(f[t], m[t]) for t in range(T)])
        case.inputs.update({"feedforward": f, "modulation": m})
        case.outputs["recurrent"] = out
        names = [n for n in net.store.names("core.recurrent.") if fmref.stream_of(n) == 0]
        case.params = {n: net.store[n] for n in names}
        if with_grads:
            finish_grads(case, sum_loss(case, out, gen), names, net, {"feedforward": f, "modulation": m})
            case.meta["loss"] = "sum(outputs/recurrent * inputs/R)"
        return case

    return build


def case_readout(train):
    def build(cfg, base, dtype, seed, with_grads):
        net = make_net(cfg, base, dtype)
        N, U = cfg["fixture"]["batch"], cfg["dims"]["units"]
        C = cfg["core"]["recurrent"]["out_channels"]
        h = cfg["perspective"]["retina_height"] // 8
        w = cfg["perspective"]["retina_width"] // 8
        gen = torch.Generator().manual_seed(seed)
        case = Case(
            "model/readout/testdata/golden/" + ("train" if train else "eval"),
            "readout PositionFeature (MODEL.md 4.6), stream 0: core [N,C,H,W] -> log-rates [N,U]"
            + ("; position mu + sigma eps with eps [N,U,2]" if train else "; position mu"),
            0,
            "train" if train else "eval",
        )
        core = _seq_inputs(gen, (N, C, h, w), dtype, scale=0.5)
        ins = {"core": core}
        if train:
            ins["eps"] = _seq_inputs(gen, (N, U, 2), dtype)
        ro = net.readout
        pos = ro.positions(N, ins.get("eps"))
        out = ro.forward(core, 0, pos)
        case.inputs.update(ins)
        case.outputs["log_rates"] = out
        case.outputs["positions"] = pos
        names = ["readout.mu", "readout.sigma", "readout.features.0", "readout.bias.0"]
        case.params = {n: net.store[n] for n in names}
        if with_grads:
            finish_grads(case, sum_loss(case, out, gen), names, net, ins)
            case.meta["loss"] = "sum(outputs/log_rates * inputs/R)"
        return case

    return build


def case_network(train):
    def build(cfg, base, dtype, seed, with_grads):
        net = make_net(cfg, base, dtype)
        T, N, U = cfg["fixture"]["frames"], cfg["fixture"]["batch"], cfg["dims"]["units"]
        S = cfg["streams"]
        burnin = cfg["fixture"]["burnin"]
        d = cfg["dims"]
        gen = torch.Generator().manual_seed(seed)
        stream = 1 if train else None
        case = Case(
            "model/testdata/golden/" + ("network_train_s1" if train else "network_eval"),
            "whole network (MODEL.md 1-4), "
            + (
                "training path, stream 1, monitor jitter and readout eps given as inputs; loss = masked Poisson loss"
                if train
                else "evaluation path, all streams, log-rates averaged over streams before exp"
            ),
            1 if train else "all",
            "train" if train else "eval",
        )
        stim = torch.randint(0, 256, (T, N, cfg["stimulus_height"], cfg["stimulus_width"]), generator=gen, dtype=torch.uint8)
        persp = _seq_inputs(gen, (T, N, d["perspectives"]), dtype)
        mod = _seq_inputs(gen, (T, N, d["modulations"]), dtype)
        ins = {"perspective": persp, "modulation": mod}
        if train:
            ins["center_noise"] = _seq_inputs(gen, (N, 3), dtype)
            ins["angle_noise"] = _seq_inputs(gen, (N, 3), dtype)
            ins["eps"] = _seq_inputs(gen, (N, U, 2), dtype)
        trace = {}
        net.reset(ins.get("center_noise"), ins.get("angle_noise"), ins.get("eps"))
        logr = net.run(stim, persp, mod, stream=stream, trace=trace)
        rates = torch.exp(logr)
        case.inputs["stimulus"] = stim
        case.inputs.update(ins)
        case.outputs["rates"] = rates
        case.outputs["log_rates"] = logr
        case.outputs["positions"] = net.pos
        case.outputs["retina"] = torch.stack(trace["retina"])
        ns = 1 if train else S
        for k in ("modulation", "feedforward", "core", "log_rates_stream"):
            v = torch.stack(trace[k])  # [T*ns, ...], stream fastest
            v = v.reshape((T, ns) + tuple(v.shape[1:]))
            if train:
                v = v[:, 0]
            case.outputs[k] = v
        if not train:
            case.outputs["log_rates_per_stream"] = case.outputs.pop("log_rates_stream")
        else:
            case.outputs.pop("log_rates_stream")
        names = list(net.store.specs)
        case.params = {n: net.store[n] for n in names}
        float_ins = dict(ins)
        if train:
            y = 2.0 * torch.rand(T, N, U, generator=gen, dtype=torch.float64)
            for t, n, u in ((0, 0, 1), (burnin, 1, 3), (T - 1, 0, 0), (T - 2, 1, 4)):
                y[t, n, u] = float("nan")
            y = y.to(dtype)
            case.inputs["targets"] = y
            loss = fmref.poisson_loss(logr, y, burnin)
            case.outputs["loss"] = loss
            case.meta["loss"] = (
                f"outputs/loss = mean over t >= burnin ({burnin}), n, u with finite targets of exp(r) - y r; "
                "grads are d outputs/loss"
            )
            case.meta["burnin"] = burnin
            if with_grads:
                used = [n for n in names if fmref.stream_of(n) in (None, 1)]
                finish_grads(case, loss, used, net, float_ins)
                case.meta["unused_params"] = "parameters of stream 0 are not used; their gradient is zero and not saved"
        elif with_grads:
            finish_grads(case, sum_loss(case, rates, gen), names, net, float_ins)
            case.meta["loss"] = "sum(outputs/rates * inputs/R)"
        return case

    return build


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def dump_json(meta):
    """JSON with one line per top-level key and per tensor shape (small, diff-friendly)."""
    lines = []
    for k, v in meta.items():
        if k == "shapes":
            inner = ",\n".join(f"  {json.dumps(n)}: {json.dumps(s)}" for n, s in v.items())
            lines.append(f" {json.dumps(k)}: {{\n{inner}\n }}")
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_case(case, cfg, dtype, seeds, provenance, compare=None):
    folder = os.path.join(REPO, case.folder + ("_f32" if dtype == torch.float32 else ""))
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    shapes = {}
    total = 0
    for kind, tensors in (("params", case.params), ("inputs", case.inputs), ("outputs", case.outputs), ("grads", case.grads)):
        if not tensors:
            continue
        os.makedirs(os.path.join(folder, kind), exist_ok=True)
        for name, t in tensors.items():
            a = to_numpy(t)
            path = os.path.join(folder, kind, name + ".npy")
            np.save(path, a)
            shapes[f"{kind}/{name}"] = {"shape": list(a.shape), "dtype": str(a.dtype)}
            total += os.path.getsize(path)
    meta = {
        "case": os.path.relpath(folder, REPO),
        "description": case.description,
        "stream": case.stream,
        "mode": case.mode,
        "dtype": "float64" if dtype == torch.float64 else "float32",
        "seed": seeds,
        "config": cfg,
        "shapes": shapes,
    }
    meta.update(case.meta)
    if compare is not None:
        meta["max_abs_diff_vs_float64"] = compare
    meta.update(provenance)
    with open(os.path.join(folder, "case.json"), "w") as f:
        f.write(dump_json(meta))
    total += os.path.getsize(os.path.join(folder, "case.json"))
    return folder, total


def main():
    torch.set_num_threads(2)
    fmref.check_counts()
    cfg = fmref.load_config(os.path.join(fmref.HERE, "tiny.yaml"))
    seed = cfg["fixture"]["seed"]
    conv_cfg = json.loads(json.dumps(cfg))
    conv_cfg["core"]["recurrent"]["type"] = "conv_lstm"

    base = fmref.Network(cfg).store.initialize("fixture", seed)
    conv_base = fmref.Network(conv_cfg).store.initialize("fixture", seed)

    provenance = {
        "torch_version": torch.__version__,
        "torch_package": torch_package_version(),
        "numpy_version": np.__version__,
        "command": COMMAND,
        "script_sha256": {
            "scripts/reference/fmref.py": file_sha256(os.path.join(fmref.HERE, "fmref.py")),
            "scripts/reference/export_golden.py": file_sha256(os.path.abspath(__file__)),
            "scripts/reference/tiny.yaml": file_sha256(os.path.join(fmref.HERE, "tiny.yaml")),
        },
    }

    cases = [
        ("perspective_eval", cfg, base, case_perspective(False)),
        ("perspective_train", cfg, base, case_perspective(True)),
        ("modulation", cfg, base, case_modulation),
        ("feedforward", cfg, base, case_feedforward),
        ("cvt_lstm", cfg, base, case_recurrent("cvt_lstm")),
        ("conv_lstm", conv_cfg, conv_base, case_recurrent("conv_lstm")),
        ("readout_eval", cfg, base, case_readout(False)),
        ("readout_train", cfg, base, case_readout(True)),
        ("network_train_s1", cfg, base, case_network(True)),
        ("network_eval", cfg, base, case_network(False)),
    ]
    grand = 0
    for i, (label, c, b, build) in enumerate(cases):
        seeds = {"params": seed, "inputs": seed + 1 + i}
        c64 = build(c, b, torch.float64, seeds["inputs"], True)
        folder, size = write_case(c64, c, torch.float64, seeds, provenance)
        grand += size
        print(f"{os.path.relpath(folder, REPO):55s} {size:>8,} bytes")
        with torch.no_grad():
            c32 = build(c, b, torch.float32, seeds["inputs"], False)
        diff = {}
        for k, v in c32.outputs.items():
            ref = c64.outputs[k].detach()
            diff[k] = float((v.detach().to(torch.float64) - ref).abs().max())
        folder, size = write_case(c32, c, torch.float32, seeds, provenance, compare=diff)
        grand += size
        worst = max(diff.items(), key=lambda kv: kv[1])
        print(f"{os.path.relpath(folder, REPO):55s} {size:>8,} bytes  (max |f32 - f64| {worst[1]:.2e} in {worst[0]})")
    print(f"total {grand:,} bytes")


if __name__ == "__main__":
    main()
