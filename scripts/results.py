#!/usr/bin/env python3
"""Assembles the RESULTS.md tables from the evaluation.json files of scripts/reproduce.sh.

Usage: results.py OUT ELAPSED_SECONDS  (prints Markdown)."""
import json
import os
import sys

out, elapsed = sys.argv[1], int(sys.argv[2])


def summary(name):
    with open(os.path.join(out, "eval", name, "evaluation.json")) as f:
        return json.load(f)["summary"]


def cell(rows, group, domain, key="cc_norm_median"):
    for r in rows:
        if r["group"] == group and r["domain"] == domain and r.get(key) is not None:
            return "%.3f" % r[key]
    return "–"


domains = ["natural", "gabor", "dots", "rdk", "noise", "image"]
f, t = summary("foundation"), summary("truth")
print("# RESULTS.md: fmcore on simulated data\n")
print("Made by `scripts/reproduce.sh %s` in %.1f h on this machine.\n" % (out, elapsed / 3600))
print("## Foundation model, mice 1–14 (median CC_norm over units)\n")
print("| | " + " | ".join(domains) + " |")
print("| --- |" + " --- |" * len(domains))
print("| model | " + " | ".join(cell(f, "all", d) for d in domains) + " |")
print("| noise-free rate (ceiling) | " + " | ".join(cell(t, "all", d) for d in domains) + " |")
print("\nTargets: natural ≥ 0.8; every out-of-domain domain ≥ 0.6.\n")
print("## New mice: frozen foundation core vs from scratch (median CC_norm, natural test clips)\n")
print("| mouse | minutes | frozen core | from scratch | difference |")
print("| --- | --- | --- | --- | --- |")
for m in (15, 16):
    for mins in (2, 4, 8, 16):
        a = cell(summary("m%d-%dmin" % (m, mins)), "all", "natural")
        b = cell(summary("m%d-%dmin-scratch" % (m, mins)), "all", "natural")
        d = "%.3f" % (float(a) - float(b)) if a != "–" and b != "–" else "–"
        print("| %d | %d | %s | %s | %s |" % (m, mins, a, b, d))
print("\nTarget: the frozen core wins at every amount, by ≥ 0.1 at 4 minutes.")
