#!/usr/bin/env bash
# bench.sh: the network benchmark of docs/PERFORMANCE.md "Network". On this machine, in one run,
# it times fmcore's training step and streaming inference step on configs/small.yaml (batch and
# window from its train section, one session of 500 units) against the PyTorch reference
# (scripts/reference/fmref.py) on the same configuration and batch sizes, and the streaming step
# of configs/paper.yaml with 8,000 units (one sequence) against PyTorch's. It prints seconds per
# step, the ratio Go/PyTorch, the achieved GFLOP/s (FLOPs estimated from the layer shapes,
# scripts/reference/bench.py) and the resident memory (peak, and from step 10 to the last).
#
#   scripts/bench.sh                # 100 training and streaming steps per side (about 6 minutes)
#   STEPS=20 scripts/bench.sh       # quicker
#   PAPER=0 scripts/bench.sh        # without the paper-size streaming step
#   CPUS=0,1 scripts/bench.sh       # both sides pinned to cores 0 and 1 (a 2-core budget on a
#                                   # larger machine; GOMAXPROCS and torch threads follow)
#   MODEL_TEST=path scripts/bench.sh  # a prebuilt `go test -c ./model` binary (no Go toolchain)
#
# PyTorch: Debian's python3-torch 1.13 at /usr/bin/python3 (apt-get install -y python3-torch),
# 2 threads, glibc malloc tuned as TOOLCHAIN.md 7 prescribes. Go: GOMAXPROCS = all cores,
# OpenBLAS one thread per call (internal/kernels). Each measurement runs in its own process, so
# each peak is its own. The machine should be otherwise idle: a busy neighbour slows both sides,
# PyTorch's OpenMP threads most.
set -euo pipefail
cd "$(dirname "$0")/.."

STEPS=${STEPS:-100}
PAPER=${PAPER:-1}
PAPER_STEPS=${PAPER_STEPS:-10}
PY=${PYTHON:-/usr/bin/python3}
THREADS=2
PIN=()
if [ -n "${CPUS:-}" ]; then
	PIN=(taskset -c "$CPUS")
	THREADS=$(taskset -c "$CPUS" nproc)
	export GOMAXPROCS=$THREADS
fi
export GLIBC_TUNABLES="glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184"

if ! "$PY" -c 'import torch' 2>/dev/null; then
	echo "bench.sh: $PY has no torch; install it with: apt-get install -y python3-torch" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB${CPUS:+; pinned to cores $CPUS ($THREADS)}"
echo "software: $(go version 2>/dev/null | cut -d' ' -f3- || echo 'prebuilt test binary'), torch $("$PY" -c 'import torch; print(torch.__version__)'), commit $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo +changes)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

if [ -n "${MODEL_TEST:-}" ]; then
	cp "$MODEL_TEST" "$tmp/model.test"
else
	go test -c -o "$tmp/model.test" ./model
fi

# gobench NAME STEPS OUT.json KEY: runs one Go benchmark and writes its figures as JSON.
gobench() {
	"${PIN[@]}" "$tmp/model.test" -test.run '^$' -test.bench "^$1\$" -test.benchtime "$2x" >"$tmp/go.txt"
	grep "^Benchmark" "$tmp/go.txt" >&2
	awk -v key="$4" '/^Benchmark/ {
		for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i
		printf "{\"%s\": {\"mean_s\": %.9g, \"steps\": %d, \"cpu_s\": %s, \"rss_growth_mb\": %s, \"live_growth_mb\": %s, \"peak_mb\": %s}}\n",
			key, v["ns/op"] / 1e9, $2, v["cpu-s/op"], (("rss-growth-MB" in v) ? v["rss-growth-MB"] : "null"),
			(("live-growth-MB" in v) ? v["live-growth-MB"] : "null"), v["peak-MB"]
	}' "$tmp/go.txt" >"$3"
}

echo "== Go (BenchmarkTrainStep, BenchmarkStreamStep in model/bench_test.go)"
gobench 'BenchmarkTrainStep/small' "$STEPS" "$tmp/go-train.json" train
gobench 'BenchmarkStreamStep/small' "$STEPS" "$tmp/go-stream.json" stream
echo "== PyTorch (scripts/reference/bench.py)"
"${PIN[@]}" "$PY" scripts/reference/bench.py measure --threads "$THREADS" --config small --units 500 --mode train --steps "$STEPS" >"$tmp/pt-train.json"
"${PIN[@]}" "$PY" scripts/reference/bench.py measure --threads "$THREADS" --config small --units 500 --mode stream --steps "$STEPS" >"$tmp/pt-stream.json"
echo
"$PY" scripts/reference/bench.py report --config small --units 500 \
	--go "$tmp/go-train.json" --go "$tmp/go-stream.json" --torch "$tmp/pt-train.json" --torch "$tmp/pt-stream.json"

if [ "$PAPER" = 1 ]; then
	echo
	echo "== paper.yaml streaming step, one sequence, 8,000 units"
	gobench 'BenchmarkStreamStep/paper' "$PAPER_STEPS" "$tmp/go-paper.json" stream
	"${PIN[@]}" "$PY" scripts/reference/bench.py measure --threads "$THREADS" --config paper --units 8000 --batch 1 --mode stream --steps "$PAPER_STEPS" >"$tmp/pt-paper.json"
	"$PY" scripts/reference/bench.py report --config paper --units 8000 --go "$tmp/go-paper.json" --torch "$tmp/pt-paper.json"
fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
