#!/usr/bin/python3
"""Check an fmcore recording (format v1) with h5py, independently of fmcore.

Usage: /usr/bin/python3 scripts/h5py_check.py FILE

Prints a summary (session, rate, units, trials per tier, NaN fractions) and one line
per schema problem as "FILE: OBJECT: message"; exits 1 when there is any problem, 2 when
the file cannot be read at all. The rules are those of docs/FORMAT.md ("What the
validator checks"), minus the video files. Needs h5py and numpy only.
"""
import os
import sys

import h5py
import numpy as np

FORMAT, VERSION = "fmcore-recording", 1
TIERS = ("train", "validation", "test")
REQUIRED_TRIAL_ATTRS = ("video", "stimulus", "domain", "tier")


class Checker:
    def __init__(self, path):
        self.path = path
        self.problems = []

    def add(self, obj, msg):
        self.problems.append(f"{self.path}: {obj}: {msg}" if obj else f"{self.path}: {msg}")

    def string_attr(self, node, obj, name):
        """Return a required scalar string attribute, or None after reporting it."""
        if name not in node.attrs:
            self.add(obj, f"attribute {name} missing, want a string")
            return None
        v = node.attrs[name]
        if isinstance(v, np.ndarray) and v.size == 1:
            v = v.reshape(())[()]
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if not isinstance(v, str):
            self.add(obj, f"attribute {name} is {type(v).__name__}, want a string")
            return None
        return v

    def number_attr(self, node, obj, name, integer=False):
        if name not in node.attrs:
            self.add(obj, f"attribute {name} missing")
            return None
        v = np.asarray(node.attrs[name])
        ok = v.size == 1 and (np.issubdtype(v.dtype, np.integer) or (not integer and np.issubdtype(v.dtype, np.floating)))
        if not ok:
            self.add(obj, f"attribute {name} is {v.dtype} {list(v.shape)}, want {'an integer' if integer else 'a number'}")
            return None
        return v.reshape(()).item()

    def dataset(self, group, name, obj, want):
        if name not in group:
            self.add(obj, f"dataset missing, want {want}")
            return None
        d = group[name]
        if not isinstance(d, h5py.Dataset):
            self.add(obj, f"is a group, want a dataset {want}")
            return None
        return d

    def float32(self, group, name, obj, rank, want):
        d = self.dataset(group, name, obj, want)
        if d is None:
            return None
        if d.dtype != np.float32:
            self.add(obj, f"dtype {d.dtype}, want float32")
            return None
        if d.ndim != rank:
            self.add(obj, f"shape {list(d.shape)}, want {want}")
            return None
        return d

    def run(self):
        try:
            f = h5py.File(self.path, "r")
        except OSError as e:
            self.add("", f"cannot open with h5py: {e}")
            return None
        with f:
            return self.check(f)

    def check(self, f):
        fmt = self.string_attr(f, "/", "format")
        if fmt != FORMAT:
            if fmt is not None:
                self.add("/", f"attribute format = {fmt!r}: not an fmcore recording")
            return None
        version = self.number_attr(f, "/", "version", integer=True)
        if version is not None and not 1 <= version <= VERSION:
            self.add("/", f"format version {version}, this script reads versions 1..{VERSION}")
            return None
        summary = {}
        for name in ("mouse", "session"):
            v = self.string_attr(f, "/", name)
            if v == "":
                self.add("/", f"attribute {name} is empty")
            summary[name] = v
        rate = self.number_attr(f, "/", "rate_hz")
        if rate is not None and not (np.isfinite(rate) and rate > 0):
            self.add("/", f"attribute rate_hz = {rate}, want a finite frame rate > 0")
        summary["rate_hz"] = rate

        U = None
        if "units" not in f or not isinstance(f["units"], h5py.Group):
            self.add("/units", "group missing")
        else:
            units = f["units"]
            ids = self.dataset(units, "id", "/units/id", "int64 [U]")
            if ids is not None:
                if not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1 or len(ids) == 0:
                    self.add("/units/id", f"{ids.dtype} {list(ids.shape)}, want int64 [U] with U >= 1")
                else:
                    U = len(ids)
                    vals, counts = np.unique(ids[()], return_counts=True)
                    if (counts > 1).any():
                        self.add("/units/id", f"{int((counts - 1).sum())} duplicate unit ids, first {vals[counts > 1][0]}")
            area = self.dataset(units, "area", "/units/area", "string [U]")
            if area is not None:
                if area.dtype.kind not in "SOU" or area.ndim != 1:
                    self.add("/units/area", f"{area.dtype} {list(area.shape)}, want string [U]")
                elif U is not None and len(area) != U:
                    self.add("/units/area", f"{len(area)} areas for {U} unit ids")
                else:
                    summary["areas"] = sorted({a.decode() if isinstance(a, bytes) else a for a in area[()]})
            if "position_um" in units:
                pos = self.float32(units, "position_um", "/units/position_um", 2, "float32 [U,3]")
                if pos is not None:
                    if pos.shape[1] != 3 or (U is not None and pos.shape[0] != U):
                        self.add("/units/position_um", f"shape {list(pos.shape)}, want [U,3]")
                    elif not np.isfinite(pos[()]).all():
                        self.add("/units/position_um", "non-finite values; positions must be finite")
        summary["U"] = U

        tiers = {t: 0 for t in TIERS}
        frames, nan, total = 0, {}, {}
        if "trials" not in f or not isinstance(f["trials"], h5py.Group):
            self.add("/trials", "group missing")
        elif len(f["trials"]) == 0:
            self.add("/trials", "no trials")
        else:
            for tid, g in f["trials"].items():
                obj = "/trials/" + tid
                if not isinstance(g, h5py.Group):
                    self.add(obj, "is a dataset, want a group per trial")
                    continue
                for name in REQUIRED_TRIAL_ATTRS:
                    v = self.string_attr(g, obj, name)
                    if v == "":
                        self.add(obj, f"attribute {name} is empty")
                    if name == "video" and v and os.path.isabs(v):
                        self.add(obj, f"attribute video = {v!r} is absolute")
                    if name == "tier" and v is not None:
                        if v in tiers:
                            tiers[v] += 1
                        else:
                            self.add(obj, f"attribute tier = {v!r}, want train, validation or test")
                T = None
                r = self.float32(g, "responses", obj + "/responses", 2, "float32 [T,U]")
                if r is not None:
                    if U is not None and r.shape[1] != U:
                        self.add(obj + "/responses", f"{r.shape[1]} units, /units/id has {U}")
                    elif r.shape[0] == 0:
                        self.add(obj + "/responses", "no frames")
                    else:
                        T = r.shape[0]
                        frames += T
                arrays = {"responses": r}
                for name, rank, width in (("pupil", 1, None), ("running", 1, None), ("eye", 2, 2)):
                    want = "float32 [T]" if rank == 1 else "float32 [T,2]"
                    d = self.float32(g, name, f"{obj}/{name}", rank, want)
                    if d is None:
                        continue
                    if width is not None and d.shape[1] != width:
                        self.add(f"{obj}/{name}", f"shape {list(d.shape)}, want {want}")
                    elif T is not None and d.shape[0] != T:
                        self.add(f"{obj}/{name}", f"{d.shape[0]} frames, responses has {T}")
                    else:
                        arrays[name] = d
                for name, d in arrays.items():
                    if d is None or T is None:
                        continue
                    x = d[()]
                    if np.isinf(x).any():
                        self.add(f"{obj}/{name}", f"{int(np.isinf(x).sum())} ±Inf values; use NaN for a missing value")
                    nan[name] = nan.get(name, 0) + int(np.isnan(x).sum())
                    total[name] = total.get(name, 0) + x.size
        summary["tiers"] = tiers
        summary["frames"] = frames
        summary["nan"] = {k: nan[k] / total[k] for k in nan if total[k]}
        return summary


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    c = Checker(argv[1])
    summary = c.run()
    if summary is not None:
        print(f"{argv[1]}: mouse {summary['mouse']} session {summary['session']}, {summary['rate_hz']} Hz, "
              f"{summary['U']} units in {', '.join(summary.get('areas', []))}")
        t = summary["tiers"]
        print(f"  trials: {sum(t.values())} ({t['train']} train, {t['validation']} validation, {t['test']} test), "
              f"{summary['frames']} frames")
        print("  NaN fraction: " + ", ".join(f"{k} {v:.4f}" for k, v in summary["nan"].items()))
    for p in c.problems:
        print(p)
    if summary is None:
        return 2
    return 1 if c.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
