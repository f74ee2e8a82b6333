#!/usr/bin/python3
"""Write golden.json: inputs and expected outputs for the metrics golden test.

Independent numpy implementation of MODEL.md sections 4.7 and 9.1-9.8 (written from the
formulas, not from the Go code). Run from this folder with

    /usr/bin/python3 make_golden.py

numpy only; seed 20250101. Inputs are rounded to float32 so that the Go side, which reads them
as float32, sees exactly the same values; every expected value is computed in float64.
NaN is written as JSON null.
"""

import json
import math

import numpy as np

SEED = 20250101
BURNIN = 10
SKIP = 50
EPS = 1e-8


def f32(a):
    """Round to float32 and back, so both sides hold identical inputs."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def enc(a):
    """Flatten to a JSON list with None for NaN."""
    return [None if math.isnan(v) else float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def scalar(v):
    return None if math.isnan(v) else float(v)


# ---------- per-unit metrics on one [R, T] block (MODEL.md 9.2-9.4, 9.8) ----------


def cc_abs(p, x):
    pm = np.nanmean(p, axis=0)
    xm = np.nanmean(x, axis=0)
    pm = pm - pm.mean()
    xm = xm - xm.mean()
    return float((pm * xm).sum() / math.sqrt((pm * pm).sum() * (xm * xm).sum()))


def cc_max(x):
    r, t = x.shape
    tj = (~np.isnan(x)).sum(axis=0).astype(np.float64)
    n = math.sqrt((tj.sum() - t) / ((tj - 1) / tj**2).sum())
    ym = np.nanmean(x, axis=0)
    P = np.var(ym, ddof=1)
    TP = np.mean(np.nanvar(x, axis=1, ddof=1))
    SP = (n * P - TP) / (n - 1)
    if SP < 0:
        return float("nan")
    return math.sqrt(SP / np.var(ym, ddof=0))


def feve(p, x):
    # stimuli = columns; repeats = non-NaN entries of a column
    noise = []
    for j in range(x.shape[1]):
        col = x[:, j]
        col = col[~np.isnan(col)]
        if col.size >= 2:
            noise.append(np.var(col, ddof=1))
    noise = np.mean(noise)
    ok = ~np.isnan(x) & ~np.isnan(p)
    total = np.var(x[ok], ddof=1)
    mse = np.mean((x[ok] - p[ok]) ** 2)
    return (total - noise) / total, 1 - (mse - noise) / (total - noise)


def unit_case(name, p, x):
    fev, fe = feve(p, x)
    ca, cm = cc_abs(p, x), cc_max(x)
    return dict(
        name=name, r=x.shape[0], t=x.shape[1], pred=enc(p), resp=enc(x),
        cc_abs=scalar(ca), cc_max=scalar(cm), cc_norm=scalar(ca / cm),
        fev=scalar(fev), feve=scalar(fe),
    )


def units(rng):
    cases = []
    r, t = 6, 40
    s = rng.normal(size=t)
    x = f32(s + rng.normal(scale=0.7, size=(r, t)))
    p = f32(0.8 * s + rng.normal(scale=0.3, size=(r, t)))
    cases.append(unit_case("complete", p, x))

    # whole padded repeats over part of the time axis, as oracle padding produces
    x2, p2 = x.copy(), p.copy()
    x2[4:, :15] = np.nan
    p2[4:, :15] = np.nan
    x2[5, 15:25] = np.nan
    p2[5, 15:25] = np.nan
    cases.append(unit_case("padded repeats", p2, x2))

    # scattered missing responses (predictions complete)
    x3 = x.copy()
    x3[rng.random(size=x3.shape) < 0.15] = np.nan
    x3[0, :] = x[0, :]  # keep every column with at least one value
    cases.append(unit_case("scattered nan", p, x3))

    # large offset: catches uncentred sums
    cases.append(unit_case("offset", f32(p + 1000.0), f32(x + 1000.0)))

    # noise-dominated: SP < 0 gives NaN
    x5 = f32(0.05 * s + rng.normal(scale=3.0, size=(3, t)))
    x5 = x5 - x5.mean(axis=0) + 0.01 * s  # kill most signal, keep var(mean) > 0
    x5 = f32(x5)
    cases.append(unit_case("noise only", p[:3], x5))
    return cases


# ---------- oracle protocol (MODEL.md 9.1) ----------


def oracle(rng):
    U = 3
    clips = []
    for key, reps, frames in [("clip-a", 4, 30), ("clip-b", 2, 25), ("clip-c", 3, 34)]:
        sig = rng.normal(size=(frames, U))
        trials = []
        for _ in range(reps):
            x = f32(sig + rng.normal(scale=0.8, size=(frames, U)))
            p = f32(0.7 * sig + rng.normal(scale=0.2, size=(frames, U)))
            trials.append(dict(pred=enc(p), resp=enc(x), _p=p, _x=x))
        clips.append(dict(key=key, frames=frames, trials=trials))
    # one missing response sample
    clips[0]["trials"][1]["_x"][12, 1] = np.nan
    clips[0]["trials"][1]["resp"] = enc(clips[0]["trials"][1]["_x"])

    rmax = max(len(c["trials"]) for c in clips)
    expected = []
    for u in range(U):
        blocks_p, blocks_x = [], []
        for c in clips:
            kept = c["frames"] - BURNIN
            bp = np.full((rmax, kept), np.nan)
            bx = np.full((rmax, kept), np.nan)
            for i, tr in enumerate(c["trials"]):
                bp[i] = tr["_p"][BURNIN:, u]
                bx[i] = tr["_x"][BURNIN:, u]
            blocks_p.append(bp)
            blocks_x.append(bx)
        p = np.concatenate(blocks_p, axis=1)
        x = np.concatenate(blocks_x, axis=1)
        c = unit_case(f"unit {u}", p, x)
        expected.append({k: c[k] for k in ("cc_abs", "cc_max", "cc_norm", "fev", "feve")})
    for c in clips:
        for tr in c["trials"]:
            del tr["_p"], tr["_x"]
    # interleave the repeats of different clips, as an evaluation pass may
    order = []
    for i in range(rmax):
        for c in clips:
            if i < len(c["trials"]):
                order.append(dict(key=c["key"], frames=c["frames"], **c["trials"][i]))
    return dict(units=U, burnin=BURNIN, trials=order, expected=expected)


# ---------- SENSORIUM single-trial correlation (MODEL.md 9.6) ----------


def corr_masked(x, p):
    out = np.zeros(x.shape[1])
    for i in range(x.shape[1]):
        ok = ~np.isnan(x[:, i]) & ~np.isnan(p[:, i])
        a, b = x[ok, i], p[ok, i]
        if a.size == 0:
            continue
        za = (a - a.mean()) / (a.std(ddof=0) + EPS)
        zb = (b - b.mean()) / (b.std(ddof=0) + EPS)
        v = (za * zb).mean()
        out[i] = 0.0 if math.isnan(v) else v
    return out


def single_trial(rng):
    mice = []
    for neurons, frames_list in [(4, [80, 60, 75]), (3, [70, 40])]:
        trials, xs, ps = [], [], []
        for frames in frames_list:
            sig = rng.normal(size=(frames, neurons))
            x = f32(sig + rng.normal(scale=0.5, size=(frames, neurons)) + 5.0)
            p = f32(0.5 * sig + rng.normal(scale=0.5, size=(frames, neurons)))
            p[:, neurons - 1] = 2.0  # constant prediction: correlation 0, not NaN
            if frames == 80:
                x[55:60, 0] = np.nan  # masked samples
            trials.append(dict(frames=frames, pred=enc(p), resp=enc(x)))
            xs.append(x[SKIP:])
            ps.append(p[SKIP:])
        rho = corr_masked(np.concatenate(xs), np.concatenate(ps))
        mice.append(dict(neurons=neurons, trials=trials, expected=enc(rho), _rho=rho))
    pooled = float(np.concatenate([m.pop("_rho") for m in mice]).mean())
    return dict(skip=SKIP, mice=mice, pooled=pooled)


# ---------- Poisson loss and quantiles ----------


def poisson(rng):
    r = f32(rng.normal(scale=0.5, size=50))
    y = f32(rng.poisson(1.0, size=50))
    y[[3, 17, 40]] = np.nan
    ok = ~np.isnan(y)
    loss = np.mean(np.exp(r[ok]) - y[ok] * r[ok])
    return dict(log_rate=enc(r), target=enc(y), mean=float(loss), count=int(ok.sum()))


def quantiles(rng):
    v = rng.normal(size=37)
    v[[2, 9, 30]] = np.nan
    qs = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    return dict(values=enc(v), q=qs, expected=[float(np.nanquantile(v, q)) for q in qs])


def main():
    rng = np.random.default_rng(SEED)
    golden = dict(
        provenance="make_golden.py, numpy " + np.__version__ + ", seed " + str(SEED),
        units=units(rng),
        oracle=oracle(rng),
        single_trial=single_trial(rng),
        poisson=poisson(rng),
        quantiles=quantiles(rng),
    )
    with open("golden.json", "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
