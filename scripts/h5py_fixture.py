#!/usr/bin/python3
"""Write small fmcore recordings (format v1) with h5py, for data/h5's interop tests.

Usage: /usr/bin/python3 scripts/h5py_fixture.py [OUT [LZF_OUT]]
       (defaults data/h5/testdata/h5py_recording.h5 and data/h5/testdata/h5py_lzf.h5)

The first file exercises what an h5py user is likely to write and fmcore must read:
gzip + shuffle compressed datasets, variable-length UTF-8 strings (h5py's default for
str), fixed-length ASCII strings (numpy bytes), a version stored as int32, integer and
float32 trial parameters, NaN values, and extra objects a reader must ignore. Every value
follows a formula so the Go test can check it exactly (all values are exact in float32);
data/h5/interop_test.go repeats the formulas.

The second file is a minimal valid recording except that trial 0's running speed is
LZF-compressed, a filter only h5py provides: fmcore must open it and report the dataset
as unreadable.

Object timestamps are off, so running the script again gives byte-identical files.
Written with h5py 3.7 / HDF5 1.10.8. Needs h5py and numpy only.
"""
import sys

import h5py
import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "data/h5/testdata/h5py_recording.h5"
LZF_OUT = sys.argv[2] if len(sys.argv) > 2 else "data/h5/testdata/h5py_lzf.h5"
U = 4
PLAIN = dict(track_times=False)
GZ = dict(compression="gzip", compression_opts=4, shuffle=True, track_times=False)


def create_file(path):
    """Create path in the HDF5 1.10 file format ("latest": about 16 KB instead of 57 KB;
    fmcore's own writer uses the oldest format, so both are covered), without
    timestamps."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    return h5py.File(h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl))


def group(parent, name):
    """Create group name in parent without timestamps."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))


def responses(trial, T):
    """responses[t, u] = 100*trial + t + u/4, float32 [T, U]."""
    t = np.arange(T, dtype=np.float32)[:, None]
    u = np.arange(U, dtype=np.float32)[None, :]
    return (100 * trial + t + u / 4).astype(np.float32)


with create_file(OUT) as f:
    f.attrs["format"] = "fmcore-recording"  # variable-length UTF-8
    f.attrs["version"] = np.int32(1)  # any integer width is accepted
    f.attrs["mouse"] = np.bytes_(b"7")  # fixed-length ASCII
    f.attrs["session"] = "4"
    f.attrs["rate_hz"] = 30.0
    f.attrs["created_by"] = "scripts/h5py_fixture.py"  # unknown: ignored

    units = group(f, "units")
    units.create_dataset("id", data=np.array([10, 11, 12, 13], dtype=np.int64), **GZ)
    units.create_dataset("area", data=np.array([b"V1", b"LM", b"AL", b"RL"]), **PLAIN)  # fixed-length S2
    pos = (10 * np.arange(3 * U, dtype=np.float32)).reshape(U, 3)
    units.create_dataset("position_um", data=pos, **GZ)
    truth = group(units, "truth")
    truth.create_dataset("preferred_orientation", data=np.array([0, 45, 90, 135], dtype=np.float32), **PLAIN)
    truth.create_dataset("class", data=["on", "off", "on", "off"], dtype=h5py.string_dtype(), **PLAIN)
    truth.create_dataset("rf_center", data=np.arange(2 * U, dtype=np.int16).reshape(U, 2), **PLAIN)

    trials = group(f, "trials")
    # Ids "0", "2", "10": natural order differs from byte order ("10" < "2").
    for trial, (tid, T, tier) in enumerate([("0", 6, "train"), ("2", 3, "validation"), ("10", 2, "test")]):
        g = group(trials, tid)
        g.attrs["video"] = f"videos/{tid}.mp4"
        g.attrs["stimulus"] = f"clip-α{trial}"  # non-ASCII UTF-8
        g.attrs["domain"] = np.bytes_(b"natural")  # fixed-length ASCII
        g.attrs["tier"] = np.bytes_(tier.encode()) if tid == "2" else tier
        r = responses(trial, T)
        p = (1 + np.arange(T, dtype=np.float32) / 8).astype(np.float32)
        run = (np.arange(T, dtype=np.float32) / 4).astype(np.float32)
        eye = np.stack([np.arange(T), -np.arange(T)], axis=1).astype(np.float32)
        if tid == "0":
            g.attrs["orientation"] = 45.0  # float64 parameter
            g.attrs["speed"] = np.int64(2)  # integer parameter, read as 2.0
            g.attrs["contrast"] = np.float32(0.5)  # float32 parameter
            g.attrs["original_tier"] = "oracle"  # label
            g.attrs["bbox"] = np.array([1.0, 2.0, 3.0, 4.0])  # array attribute: ignored
            g.create_dataset("rate", data=responses(trial, T), **GZ)  # extra, as the simulator writes
            r[2, 1] = np.nan
            p[5] = np.nan
        g.create_dataset("responses", data=r, chunks=(min(T, 3), U), **GZ)
        g.create_dataset("pupil", data=p, **GZ)
        g.create_dataset("running", data=run, **GZ)
        g.create_dataset("eye", data=eye, **GZ)

    meta = group(f, "meta")  # unknown group: ignored
    meta.create_dataset("notes", data=np.arange(3), **PLAIN)

with create_file(LZF_OUT) as f:
    f.attrs.update({"format": "fmcore-recording", "version": 1, "mouse": "7", "session": "4", "rate_hz": 30.0})
    units = group(f, "units")
    units.create_dataset("id", data=np.arange(U, dtype=np.int64), **PLAIN)
    units.create_dataset("area", data=["V1"] * U, dtype=h5py.string_dtype(), **PLAIN)
    g = group(group(f, "trials"), "0")
    g.attrs.update({"video": "videos/0.mp4", "stimulus": "clip0", "domain": "natural", "tier": "train"})
    g.create_dataset("responses", data=responses(0, 4), **PLAIN)
    g.create_dataset("pupil", data=np.ones(4, dtype=np.float32), **PLAIN)
    g.create_dataset("running", data=np.ones(4, dtype=np.float32), compression="lzf", track_times=False)
    g.create_dataset("eye", data=np.zeros((4, 2), dtype=np.float32), **PLAIN)

print(OUT, LZF_OUT)
