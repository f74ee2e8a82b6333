#!/usr/bin/env python3
"""Write the tiny source trees that the importer tests read (issue 6).

Provenance: synthetic data, numpy only (no reference code), seed 6. Run from the repository
root with the system Python:

    /usr/bin/python3 scripts/make_import_fixtures.py

It replaces

    data/sensorium/testdata/dynamic10001-1-2-Video-fixtureA/   SENSORIUM 2023 layout (MODEL.md 11.4)
    data/sensorium/testdata/dynamic10002-3-4-Video-fixtureB/
    data/fnnnpy/testdata/fnn/                                  fnn layout (MODEL.md 11.1)

Frames are kept tiny (9x16 pixels, 20-30 frames, 5-6 units) so the whole set stays a few
hundred KB; the importers do not care about the size as long as it is consistent.

Mouse A: float32 videos holding whole numbers 0..255 (as SENSORIUM ships them), with
meta/statistics present, so the import maps values to bytes one to one. Trials: 0, 1 train;
2, 3 oracle showing the same video (a repeat); 4 live_test_main with its last 6 frames
NaN-padded; 5 final_test_bonus without a responses file (withheld test responses); 6 none.
Pupil dilation of trial 1 has a NaN gap (missing behaviour, kept as NaN).

Mouse B: float64 videos of z-scored values (not whole numbers, some negative), no
meta/statistics (so the importer scans the videos for their range), responses saved in
Fortran order, tiers stored as a bytes (|S) array and unit ids as int32. Trials: 0, 1
train; 2, 3 oracle showing the same video.

fnn tree: trials 0, 1, 2, 10 (natural order puts 10 last); 2 is a validation trial
(training False); trial lengths differ (20..26 frames); modulations of trial 1 hold a NaN;
evaluation_data has clip "a" x 3 repeats and clip "b" x 2 repeats, the repeats of a clip
showing identical frames.
"""

import json
import os
import shutil

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
H, W = 9, 16
rng = np.random.default_rng(6)


def save(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, arr)


def sensorium_a(root):
    d = os.path.join(root, "dynamic10001-1-2-Video-fixtureA")
    N, T0 = 6, 24
    tiers = ["train", "train", "oracle", "oracle", "live_test_main", "final_test_bonus", "none"]
    clip = rng.integers(0, 256, size=(H, W, T0)).astype(np.float32)
    for i, tier in enumerate(tiers):
        video = clip.copy() if tier == "oracle" else rng.integers(0, 256, size=(H, W, T0)).astype(np.float32)
        resp = rng.gamma(1.0, 2.0, size=(N, T0)).astype(np.float32)
        beh = np.stack([rng.normal(5, 1, T0), np.abs(rng.normal(3, 2, T0))]).astype(np.float32)
        pc = rng.normal(0, 3, size=(2, T0)).astype(np.float32)
        if i == 1:
            beh[0, 5:8] = np.nan
        if i == 4:  # trial ends after 18 frames; the rest is NaN padding
            for a in (video, resp, beh, pc):
                a[..., 18:] = np.nan
        save(f"{d}/data/videos/{i}.npy", video)
        if i != 5:
            save(f"{d}/data/responses/{i}.npy", resp)
        save(f"{d}/data/behavior/{i}.npy", beh)
        save(f"{d}/data/pupil_center/{i}.npy", pc)
    save(f"{d}/meta/neurons/unit_ids.npy", np.arange(101, 101 + N, dtype=np.int64))
    save(f"{d}/meta/neurons/cell_motor_coordinates.npy", rng.uniform(-300, 300, size=(N, 3)).round(1))
    save(f"{d}/meta/trials/tiers.npy", np.array(tiers))
    save(f"{d}/meta/statistics/videos/all/min.npy", np.array(0.0))
    save(f"{d}/meta/statistics/videos/all/max.npy", np.array(255.0))
    save(f"{d}/meta/statistics/responses/all/std.npy", np.ones(N, dtype=np.float32))
    with open(f"{d}/config.json", "w") as f:
        json.dump({"fixture": "sensorium A"}, f)


def sensorium_b(root):
    d = os.path.join(root, "dynamic10002-3-4-Video-fixtureB")
    N, T0 = 5, 20
    tiers = [b"train", b"train", b"oracle", b"oracle"]
    clip = rng.normal(0, 1, size=(H, W, T0))
    for i, tier in enumerate(tiers):
        video = clip.copy() if tier == b"oracle" else rng.normal(0, 1, size=(H, W, T0))
        resp = np.asfortranarray(rng.gamma(1.0, 2.0, size=(N, T0)).astype(np.float32))
        beh = np.stack([rng.normal(5, 1, T0), np.abs(rng.normal(3, 2, T0))]).astype(np.float32)
        pc = rng.normal(0, 3, size=(2, T0)).astype(np.float32)
        save(f"{d}/data/videos/{i}.npy", video.astype(np.float64))
        save(f"{d}/data/responses/{i}.npy", resp)
        save(f"{d}/data/behavior/{i}.npy", beh)
        save(f"{d}/data/pupil_center/{i}.npy", pc)
    save(f"{d}/meta/neurons/unit_ids.npy", np.array([7, 3, 9, 1, 5], dtype=np.int32))
    save(f"{d}/meta/neurons/cell_motor_coordinates.npy", rng.uniform(-300, 300, size=(N, 3)).astype(np.float32))
    save(f"{d}/meta/trials/tiers.npy", np.array(tiers))


def fnn(root):
    d = os.path.join(root, "fnn")
    U = 5
    for tid, T, training in [("0", 20, True), ("1", 26, True), ("2", 22, False), ("10", 24, True)]:
        per = rng.normal(0, 1, size=(T, 2)).astype(np.float32)
        mod = rng.normal(0, 1, size=(T, 2)).astype(np.float32)
        if tid == "1":
            mod[3, 0] = np.nan
        save(f"{d}/stimuli/{tid}.npy", rng.integers(0, 256, size=(T, H, W, 1), dtype=np.uint8))
        save(f"{d}/perspectives/{tid}.npy", per)
        save(f"{d}/modulations/{tid}.npy", mod)
        save(f"{d}/units/{tid}.npy", rng.gamma(1.0, 1.0, size=(T, U)).astype(np.float32))
        save(f"{d}/training/{tid}.npy", np.array(training))
        save(f"{d}/samples/{tid}.npy", np.array(T))
    for video, repeats in [("a", 3), ("b", 2)]:
        T = 20
        stim = rng.integers(0, 256, size=(T, H, W, 1), dtype=np.uint8)
        for r in range(repeats):
            e = f"{d}/evaluation_data"
            save(f"{e}/stimuli/{video}/{r}.npy", stim)
            save(f"{e}/perspectives/{video}/{r}.npy", rng.normal(0, 1, size=(T, 2)).astype(np.float32))
            save(f"{e}/modulations/{video}/{r}.npy", rng.normal(0, 1, size=(T, 2)).astype(np.float32))
            save(f"{e}/units/{video}/{r}.npy", rng.gamma(1.0, 1.0, size=(T, U)).astype(np.float32))


def main():
    sens = os.path.join(ROOT, "data", "sensorium", "testdata")
    fnn_root = os.path.join(ROOT, "data", "fnnnpy", "testdata")
    for d in (os.path.join(sens, "dynamic10001-1-2-Video-fixtureA"),
              os.path.join(sens, "dynamic10002-3-4-Video-fixtureB"),
              os.path.join(fnn_root, "fnn")):
        shutil.rmtree(d, ignore_errors=True)
    sensorium_a(sens)
    sensorium_b(sens)
    fnn(fnn_root)


if __name__ == "__main__":
    main()
