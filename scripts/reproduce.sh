#!/usr/bin/env bash
# Reproduces docs/RESULTS.md on simulated data (issue: training pipeline):
#   1. the simulator's small preset (14 foundation mice + mice 15 and 16),
#   2. the foundation model trained on mice 1-14 and evaluated on their test trials,
#   3. the simulator's noise-free rate scored the same way (the metrics' ceiling),
#   4. mice 15 and 16 fine-tuned on the frozen core and trained from scratch with 2, 4,
#      8 and 16 minutes of data, each evaluated on the natural test clips,
#   5. the tables of docs/RESULTS.md assembled from the evaluation.json files.
# Usage: scripts/reproduce.sh [OUT]   (default OUT=reproduce; needs make deps done)
# EPOCHS and FT_EPOCHS (default: configs/small.yaml's) shorten the foundation and the
# fine-tuning runs; each run's cosine schedule is then one cycle over its epochs. Steps
# already done in OUT (the dataset, finished runs, finished evaluations) are kept, so a
# stopped run continues; the time reported is that of every invocation on OUT together.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-reproduce}
BIN=bin/fmcore
make build
mkdir -p "$OUT"
start=$(date +%s)
before=$(cat "$OUT/seconds" 2>/dev/null || echo 0)
trap 'echo $((before + $(date +%s) - start)) > "$OUT/seconds"' EXIT
log() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$OUT/reproduce.log"; }

# recipe NAME EPOCHS writes OUT/NAME.yaml, configs/small.yaml with EPOCHS epochs (default:
# its own) in one cosine cycle, and prints its path.
recipe() {
  local epochs=${2:-$(sed -n 's/^  epochs: *//p' configs/small.yaml)}
  sed "s/^  epochs: .*/  epochs: $epochs/; s/^    cycle_size: .*/    cycle_size: $epochs/" configs/small.yaml > "$OUT/$1.yaml"
  echo "$OUT/$1.yaml"
}
CONFIG=$(recipe foundation "${EPOCHS:-}")
FT_CONFIG=$(recipe finetune "${FT_EPOCHS:-}")

# evaluate DIR ARGS… runs fmcore evaluate ARGS… --out DIR unless DIR holds its result.
evaluate() {
  local dir=$1
  shift
  [ -e "$dir/evaluation.json" ] || "$BIN" evaluate "$@" --out "$dir"
}

log simulate
[ -e "$OUT/data/dataset.json" ] || "$BIN" simulate --preset small --out "$OUT/data"
log train foundation
[ -e "$OUT/runs/foundation/best/core.fmck" ] || "$BIN" train --mice 1-14 --data "$OUT/data" --config "$CONFIG" --out "$OUT/runs/foundation"
log evaluate foundation
evaluate "$OUT/eval/foundation" --model "$OUT/runs/foundation" --data "$OUT/data" --mice 1-14
evaluate "$OUT/eval/truth" --truth --data "$OUT/data" --mice 1-16
for m in 15 16; do
  for min in 2 4 8 16; do
    log "mouse $m, $min minutes"
    run="$OUT/runs/m$m-${min}min"
    [ -e "$run/best/core.fmck" ] || "$BIN" finetune --new-mouse "$m" --from "$OUT/runs/foundation" --config "$FT_CONFIG" --data "$OUT/data" --minutes "$min" --out "$run"
    evaluate "$OUT/eval/m$m-${min}min" --model "$run" --data "$OUT/data" --mice "$m" --domains natural
    run="$OUT/runs/m$m-${min}min-scratch"
    [ -e "$run/best/core.fmck" ] || "$BIN" finetune --new-mouse "$m" --from-scratch --config "$FT_CONFIG" --data "$OUT/data" --minutes "$min" --out "$run"
    evaluate "$OUT/eval/m$m-${min}min-scratch" --model "$run" --data "$OUT/data" --mice "$m" --domains natural
  done
done
elapsed=$((before + $(date +%s) - start))
log "done in ${elapsed} s (every invocation on $OUT)"
/usr/bin/python3 scripts/results.py "$OUT" "$elapsed" > "$OUT/RESULTS.md"
log "tables in $OUT/RESULTS.md (copy to docs/RESULTS.md with the figures to publish)"
