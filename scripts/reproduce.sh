#!/usr/bin/env bash
# Reproduces docs/RESULTS.md on simulated data (issue: training pipeline):
#   1. the simulator's small preset (14 foundation mice + mice 15 and 16),
#   2. the foundation model trained on mice 1-14 and evaluated on their test trials,
#   3. the simulator's noise-free rate scored the same way (the metrics' ceiling),
#   4. mice 15 and 16 fine-tuned on the frozen core and trained from scratch with 2, 4,
#      8 and 16 minutes of data, each evaluated on the natural test clips,
#   5. the tables of docs/RESULTS.md assembled from the evaluation.json files.
# Usage: scripts/reproduce.sh [OUT]   (default OUT=reproduce; needs make deps done)
# EPOCHS (default: configs/small.yaml's 12) and FT_EPOCHS (default 4) set the epochs of the
# foundation and of each fine-tuning run, each in one cosine cycle: 16 fine-tunings of 12
# epochs (about 28 s each) would take about 1 h 40 min, 4 epochs keep the whole within 3 hours. Steps
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

# recipe NAME EPOCHS writes OUT/NAME.yaml, configs/small.yaml with EPOCHS epochs in one
# cosine cycle, and prints its path.
recipe() {
  sed "s/^  epochs: .*/  epochs: $2/; s/^    cycle_size: .*/    cycle_size: $2/" configs/small.yaml > "$OUT/$1.yaml"
  echo "$OUT/$1.yaml"
}
EPOCHS=${EPOCHS:-$(sed -n 's/^  epochs: *//p' configs/small.yaml)}
FT_EPOCHS=${FT_EPOCHS:-4}
CONFIG=$(recipe foundation "$EPOCHS")
FT_CONFIG=$(recipe finetune "$FT_EPOCHS")

# finished DIR EPOCHS: whether the run in DIR trained all its EPOCHS epochs (its log has a
# line per finished epoch; a stopped run has a checkpoint, and a best model, before that).
finished() { [ -e "$1/log.jsonl" ] && [ "$(wc -l < "$1/log.jsonl")" -ge "$2" ]; }

# finetune DIR MOUSE ARGS… runs fmcore finetune --new-mouse MOUSE ARGS… --out DIR unless DIR
# holds a finished run; a stopped one (a checkpoint, not all epochs) is resumed.
finetune() {
  local dir=$1 mouse=$2
  shift 2
  finished "$dir" "$FT_EPOCHS" && return
  if [ -e "$dir/checkpoint/core.fmck" ]; then
    "$BIN" finetune --new-mouse "$mouse" --data "$OUT/data" --out "$dir" --resume
  else
    rm -rf "$dir"
    "$BIN" finetune --new-mouse "$mouse" "$@" --config "$FT_CONFIG" --data "$OUT/data" --out "$dir"
  fi
}

# evaluate DIR ARGS… runs fmcore evaluate ARGS… --out DIR unless DIR holds its result.
evaluate() {
  local dir=$1
  shift
  [ -e "$dir/evaluation.json" ] || "$BIN" evaluate "$@" --out "$dir"
}

log simulate
[ -e "$OUT/data/dataset.json" ] || "$BIN" simulate --preset small --out "$OUT/data"
log train foundation
run="$OUT/runs/foundation"
if ! finished "$run" "$EPOCHS"; then
  resume=()
  [ -e "$run/checkpoint" ] && resume=(--resume)
  "$BIN" train --mice 1-14 --data "$OUT/data" --config "$CONFIG" --out "$run" "${resume[@]}"
fi
log evaluate foundation
evaluate "$OUT/eval/foundation" --model "$OUT/runs/foundation" --data "$OUT/data" --mice 1-14
evaluate "$OUT/eval/truth" --truth --data "$OUT/data" --mice 1-16
for m in 15 16; do
  for min in 2 4 8 16; do
    log "mouse $m, $min minutes"
    run="$OUT/runs/m$m-${min}min"
    finetune "$run" "$m" --from "$OUT/runs/foundation" --minutes "$min"
    evaluate "$OUT/eval/m$m-${min}min" --model "$run" --data "$OUT/data" --mice "$m" --domains natural
    run="$OUT/runs/m$m-${min}min-scratch"
    finetune "$run" "$m" --from-scratch --minutes "$min"
    evaluate "$OUT/eval/m$m-${min}min-scratch" --model "$run" --data "$OUT/data" --mice "$m" --domains natural
  done
done
elapsed=$((before + $(date +%s) - start))
log "done in ${elapsed} s (every invocation on $OUT)"
/usr/bin/python3 scripts/results.py "$OUT" "$elapsed" > "$OUT/RESULTS.md"
log "tables in $OUT/RESULTS.md (copy to docs/RESULTS.md with the figures to publish)"
