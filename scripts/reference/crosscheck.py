"""Recomputes the float64 golden outputs with plain numpy loops, reading only the fixture files.

A second, deliberately naive implementation of the same specification (explicit loops, no
torch): it checks the fixtures' names, shapes and numbers the way the Go tests will read
them, and catches a misreading in fmref.py that torch would hide (grid_sample conventions,
cat_groups order, InterGroup layout, tap order). Forward values only; gradients are torch's.

    /usr/bin/python3 scripts/reference/crosscheck.py
"""

import glob
import json
import math
import os
import sys

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GAMMA = 1.7015043
EPS = 1e-5


def load(folder):
    out = {"case": json.load(open(os.path.join(folder, "case.json")))}
    for kind in ("params", "inputs", "outputs", "grads"):
        d = {}
        for p in glob.glob(os.path.join(folder, kind, "*.npy")):
            d[os.path.basename(p)[:-4]] = np.load(p)
        out[kind] = d
    return out


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2))) * GAMMA


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def ws(w, g=None):
    o = w.shape[0]
    f = w.reshape(o, -1)
    mean = f.mean(1, keepdims=True)
    var = ((f - mean) ** 2).mean(1, keepdims=True)
    out = (f - mean) / np.sqrt(f.shape[1] * var + EPS)
    if g is not None:
        out = out * g[:, None]
    return out.reshape(w.shape)


def cat_groups(ts, G):
    parts = []
    for g in range(G):
        for t in ts:
            c = t.shape[1] // G
            parts.append(t[:, g * c : (g + 1) * c])
    return np.concatenate(parts, 1)


def conv(x, w, b=None, G=1, pad=0, stride=1):
    """x [N, C, K, H, W] (K frames, oldest first), w [O, C/G, K, kh, kw] -> [N, O, H', W'] by loops."""
    n, c, k, h, wd = x.shape
    o, cg, kt, kh, kw = w.shape
    assert kt == k and cg * G == c
    xp = np.zeros((n, c, k, h + 2 * pad, wd + 2 * pad))
    xp[:, :, :, pad : pad + h, pad : pad + wd] = x
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    og = o // G
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg : (g + 1) * cg, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                out[:, oc, i, j] = (patch * w[oc]).reshape(n, -1).sum(1)
    if b is not None:
        out += b[None, :, None, None]
    return out


def conv1(x, w, b=None, G=1, pad=0, stride=1):
    return conv(x[:, :, None], w, b, G, pad, stride)


def bilinear(img, x, y, padding):
    """img [H, W]; one point in normalized coordinates (align_corners false)."""
    h, w = img.shape
    ix = ((x + 1) * w - 1) / 2
    iy = ((y + 1) * h - 1) / 2
    if padding == "border":
        ix = min(max(ix, 0), w - 1)
        iy = min(max(iy, 0), h - 1)
    x0, y0 = math.floor(ix), math.floor(iy)
    fx, fy = ix - x0, iy - y0
    val = 0.0
    for yy, wy in ((y0, 1 - fy), (y0 + 1, fy)):
        for xx, wx in ((x0, 1 - fx), (x0 + 1, fx)):
            if 0 <= yy < h and 0 <= xx < w:
                val += wy * wx * img[yy, xx]
    return val


def rot(a):
    cx, sx, cy, sy, cz, sz = math.cos(a[0]), math.sin(a[0]), math.cos(a[1]), math.sin(a[1]), math.cos(a[2]), math.sin(a[2])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


# ---------------------------------------------------------------------------


def perspective(P, cfg, stim, eye, cn=None, an=None):
    pc = cfg["perspective"]
    ho, wo = pc["retina_height"], pc["retina_width"]
    n, _, hi, wi = stim.shape
    out = np.zeros((n, 1, ho, wo))
    for b in range(n):
        x = eye[b]
        L = len(pc["eye_hidden"]) + 1
        for i in range(L):
            w = P[f"perspective.eye.{i}.weight"][:, :, 0, 0, 0]
            if i > 0:
                w = ws(P[f"perspective.eye.{i}.weight"], P[f"perspective.eye.{i}.gain"])[:, :, 0, 0, 0]
            x = w @ x + P[f"perspective.eye.{i}.bias"]
            if i < L - 1:
                x = gelu(x)
        R = rot(x)
        c = P["perspective.monitor.center"].copy()
        ang = P["perspective.monitor.angles"].copy()
        if cn is not None:
            c = c + cn[b] * P["perspective.monitor.center_std"]
            ang = ang + an[b] * P["perspective.monitor.angle_std"]
        M = rot(ang)
        X, Y, Z = M[:, 0], M[:, 1], M[:, 2]
        lum = (stim[b, 0] / 255.0) ** pc["monitor_power"]
        p = 1 / (1 + math.exp(-P["perspective.retina_pixel.logit"][0]))
        for i in range(ho):
            for j in range(wo):
                gx = (-1 + 2 * j / (wo - 1)) * (wo - 1) / wo
                gy = (-1 + 2 * i / (ho - 1)) * (ho / wo) * (wo - 1) / wo
                r = min(max(math.hypot(gx, gy) * math.radians(pc["retina_degrees"]), 0), math.pi / 2)
                th = math.atan2(gy, gx)
                ray = R @ np.array([math.sin(r) * math.cos(th), math.sin(r) * math.sin(th), math.cos(r)])
                t = (Z @ c) / max(Z @ ray, 1e-5)
                d = t * ray - c
                u, v = d @ X, d @ Y
                xs = u * (wi / (wi - 1)) * ((wo - 1) / wo)
                ys = v * (wi / hi) * (wi / (wi - 1)) * ((ho - 1) / ho)
                val = bilinear(lum, xs, ys, "zeros" if pc["periphery"] == "dark" else "border")
                out[b, 0, i, j] = P["perspective.retina_pixel.scale"][0] * (val + 1e-5) ** p + P["perspective.retina_pixel.offset"][0]
    return out


def modulation(P, cfg, beh, s):
    T, N, _ = beh.shape
    hd = cfg["modulation"]["hidden"]
    h = np.zeros((N, hd))
    c = np.zeros((N, hd))
    outs = []
    for t in range(T):
        x = gelu(beh[t] @ P[f"modulation.mlp.weight.{s}"][:, :, 0, 0, 0].T + P[f"modulation.mlp.bias.{s}"])
        xh = np.concatenate([x, h], 1)
        gt = {}
        for g in "ifgo":
            w = ws(P[f"modulation.lstm.{g}.weight.{s}"], P[f"modulation.lstm.{g}.gain.{s}"])[:, :, 0, 0, 0]
            gt[g] = xh @ w.T + P[f"modulation.lstm.{g}.bias.{s}"]
        c = sigmoid(gt["f"]) * c + sigmoid(gt["i"]) * np.tanh(gt["g"])
        h = sigmoid(gt["o"]) * np.tanh(c)
        outs.append(h)
    return np.stack(outs)


def feedforward(P, cfg, retina, s):
    fc = cfg["core"]["feedforward"]
    T = retina.shape[0]
    pre = "core.feedforward"
    hist = {}
    outs = []
    for t in range(T):
        k, st = fc["input_kernel"], fc["input_stride"]
        pad = (k - st) // 2
        x = np.pad(retina[t], ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
        x = conv1(x, P[f"{pre}.inputs.0.weight.{s}"], P[f"{pre}.inputs.0.bias.{s}"], stride=st)
        for b in range(len(fc["channels"])):
            G, L = fc["groups"][b], fc["layers"][b]
            if b > 0:
                x = conv1(x, ws(P[f"{pre}.inputs.{b}.weight.{s}"], P[f"{pre}.inputs.{b}.gain.{s}"]), P[f"{pre}.inputs.{b}.bias.{s}"])
            xs, ys = [x], []
            for l in range(L):
                y = gelu(xs[l])
                ys.append(y)
                K = fc["temporal"][b]
                hh = hist.get((b, l), [np.zeros_like(y)] * (K - 1)) + [y]
                hist[(b, l)] = hh[1:]
                w = ws(P[f"{pre}.blocks.{b}.convs.{l}.weight.{s}"], P[f"{pre}.blocks.{b}.convs.{l}.gain.{s}"])
                nxt = conv(np.stack(hh, 2), w, P[f"{pre}.blocks.{b}.convs.{l}.bias.{s}"], G=G, pad=fc["spatial"][b] // 2)
                if l >= 1:
                    w = ws(P[f"{pre}.blocks.{b}.skips.{l}.weight.{s}"], P[f"{pre}.blocks.{b}.skips.{l}.gain.{s}"])
                    nxt = nxt + conv1(cat_groups(ys[:l], G), w, G=G)
                xs.append(nxt)
            x = cat_groups(xs, G)
            p = fc["pools"][b]
            if p > 1:
                n, c, h, w_ = x.shape
                x = x[:, :, : h // p * p, : w_ // p * p].reshape(n, c, h // p, p, w_ // p, p).mean((3, 5))
        outs.append(conv1(x, ws(P[f"{pre}.out.weight.{s}"], P[f"{pre}.out.gain.{s}"]), P[f"{pre}.out.bias.{s}"]))
    return np.stack(outs)


def recurrent(P, cfg, f, m, s):
    rc = cfg["core"]["recurrent"]
    G, hid, cin, k = rc["groups"], rc["hidden"], rc["in"], rc["spatial"]
    pre = "core.recurrent"
    T, N, _, H, W = f.shape
    h = np.zeros((N, hid, H, W))
    c = np.zeros((N, hid, H, W))
    gi, gh = cin // G, hid // G
    # InterGroup by explicit index arithmetic
    wraw = P[f"{pre}.proj_h.weight.{s}"]
    gain = P[f"{pre}.proj_h.gain.{s}"]
    wh = np.zeros((cin, hid))
    for g in range(G):
        for o in range(gi):
            row = wraw[g, :, o, :]  # [G-1, Gh]
            mean, var = row.mean(), row.var()
            std = gain[g * gi + o] * (row - mean) / math.sqrt(row.size * var + EPS)
            others = [j for j in range(G) if j != g]
            for jj, j in enumerate(others):
                wh[g * gi + o, j * gh : (j + 1) * gh] = std[jj]
    outs = []
    for t in range(T):
        x = conv1(f[t], ws(P[f"{pre}.proj_f.weight.{s}"], P[f"{pre}.proj_f.gain.{s}"]), P[f"{pre}.proj_f.bias.{s}"])
        wm = ws(P[f"{pre}.proj_m.weight.{s}"], P[f"{pre}.proj_m.gain.{s}"])[:, :, 0, 0, 0]
        x = x + (m[t] @ wm.T)[:, :, None, None]
        x = x + np.einsum("oc,nchw->nohw", wh, h)
        x = np.tanh(x)
        xh = cat_groups([x, h], G)
        if rc["type"] == "cvt_lstm":
            z = conv1(xh, ws(P[f"{pre}.z.weight.{s}"]), G=G, pad=k // 2)
            q, kk, v = (conv1(z, ws(P[f"{pre}.{n}.weight.{s}"]), G=G) for n in "qkv")
            cm = z.shape[1]
            gc = cm // G
            a = np.zeros_like(z)
            sc = P[f"{pre}.scales.{s}"]
            for n in range(N):
                for g in range(G):
                    Q = q[n, g * gc : (g + 1) * gc].reshape(gc, -1)
                    Kt = kk[n, g * gc : (g + 1) * gc].reshape(gc, -1)
                    V = v[n, g * gc : (g + 1) * gc].reshape(gc, -1)
                    Qh = Q / np.linalg.norm(Q, axis=0, keepdims=True) * sc[g][:, None]
                    Kh = Kt / np.linalg.norm(Kt, axis=0, keepdims=True)
                    lg = Qh.T @ Kh  # [query, key]
                    e = np.exp(lg - lg.max(1, keepdims=True))
                    sm = e / e.sum(1, keepdims=True)
                    a[n, g * gc : (g + 1) * gc] = (V @ sm.T).reshape(gc, H, W)
            gin, pad = cat_groups([z, a], G), 0
        else:
            gin, pad = xh, k // 2
        gt = {}
        for gname in "ifgo":
            w = ws(P[f"{pre}.gates.{gname}.weight.{s}"], P[f"{pre}.gates.{gname}.gain.{s}"])
            gt[gname] = conv1(gin, w, P[f"{pre}.gates.{gname}.bias.{s}"], G=G, pad=pad)
        c = sigmoid(gt["f"]) * c + sigmoid(gt["i"]) * np.tanh(gt["g"])
        h = sigmoid(gt["o"]) * np.tanh(c)
        outs.append(conv1(h, ws(P[f"{pre}.out.weight.{s}"], P[f"{pre}.out.gain.{s}"]), P[f"{pre}.out.bias.{s}"]))
    return np.stack(outs)


def readout(P, core, s, eps=None):
    N, C, H, W = core.shape
    mu, sigma = P["readout.mu"], P["readout.sigma"]
    U = mu.shape[0]
    out = np.zeros((N, U))
    pos = np.zeros((N, U, 2))
    for n in range(N):
        for u in range(U):
            p = mu[u] + (sigma[u] @ eps[n, u] if eps is not None else 0)
            p = np.tanh(p)
            pos[n, u] = p
            feat = np.array([bilinear(core[n, ch], p[0], p[1], "border") for ch in range(C)])
            out[n, u] = feat @ P[f"readout.features.{s}"][u] + P[f"readout.bias.{s}"][u]
    return out, pos


def compare(name, got, want, tol):
    err = np.abs(got - want).max()
    status = "ok" if err <= tol else "FAIL"
    print(f"  {name:45s} max abs err {err:.2e} {status}")
    return err <= tol


def main():
    # float64 round-off through a few hundred loop-order-dependent operations stays far below
    # 1e-10; anything larger is a semantic difference, not round-off.
    tol = 1e-10
    ok = True
    g = lambda p: os.path.join(REPO, p)  # noqa: E731
    for mode in ("eval", "train"):
        c = load(g(f"model/perspective/testdata/golden/{mode}"))
        i = c["inputs"]
        got = perspective(c["params"], c["case"]["config"], i["stimulus"], i["eye"], i.get("center_noise"), i.get("angle_noise"))
        ok &= compare(f"perspective/{mode} retina", got, c["outputs"]["retina"], tol)
    c = load(g("model/modulation/testdata/golden/stream0"))
    ok &= compare("modulation/stream0", modulation(c["params"], c["case"]["config"], c["inputs"]["behavior"], 0), c["outputs"]["modulation"], tol)
    c = load(g("model/core/testdata/golden/feedforward"))
    ok &= compare("core/feedforward", feedforward(c["params"], c["case"]["config"], c["inputs"]["retina"], 0), c["outputs"]["feedforward"], tol)
    for kind in ("cvt_lstm", "conv_lstm"):
        c = load(g(f"model/core/testdata/golden/{kind}"))
        i = c["inputs"]
        ok &= compare(f"core/{kind}", recurrent(c["params"], c["case"]["config"], i["feedforward"], i["modulation"], 0), c["outputs"]["recurrent"], tol)
    for mode in ("eval", "train"):
        c = load(g(f"model/readout/testdata/golden/{mode}"))
        r, pos = readout(c["params"], c["inputs"]["core"], 0, c["inputs"].get("eps"))
        ok &= compare(f"readout/{mode} log_rates", r, c["outputs"]["log_rates"], tol)
        ok &= compare(f"readout/{mode} positions", pos, c["outputs"]["positions"], tol)

    # whole network: chain the numpy modules on the fixture's inputs.
    for name, stream in (("network_train_s1", 1), ("network_eval", None)):
        c = load(g(f"model/testdata/golden/{name}"))
        P, cfg, i, o = c["params"], c["case"]["config"], c["inputs"], c["outputs"]
        T = i["stimulus"].shape[0]
        stim = i["stimulus"].astype(np.float64)[:, :, None]
        retina = np.stack([perspective(P, cfg, stim[t], i["perspective"][t], i.get("center_noise"), i.get("angle_noise")) for t in range(T)])
        ok &= compare(f"{name} retina", retina, o["retina"], tol)
        streams = [stream] if stream is not None else list(range(cfg["streams"]))
        per = []
        for s in streams:
            m = modulation(P, cfg, i["modulation"], s)
            f = feedforward(P, cfg, retina, s)
            core = recurrent(P, cfg, f, m, s)
            per.append(np.stack([readout(P, core[t], s, i.get("eps"))[0] for t in range(T)]))
        logr = np.mean(per, 0)
        ok &= compare(f"{name} log_rates", logr, o["log_rates"], tol)
        ok &= compare(f"{name} rates", np.exp(logr), o["rates"], tol)
        if "targets" in i:
            b = c["case"]["burnin"]
            y, r = i["targets"][b:], logr[b:]
            mask = ~np.isnan(y)
            loss = (np.exp(r) - np.where(mask, y, 0) * r)[mask].mean()
            ok &= compare(f"{name} loss", np.array([loss]), o["loss"], tol)
    if not ok:
        sys.exit("crosscheck failed")
    print("crosscheck: all float64 goldens reproduced by the numpy loops")


if __name__ == "__main__":
    main()
