#!/usr/bin/env bash
# Reproduces docs/RESULTS.md on simulated data (issue: training pipeline):
#   1. the simulator's small preset (14 foundation mice + mice 15 and 16),
#   2. the foundation model trained on mice 1-14 and evaluated on their test trials,
#   3. the simulator's noise-free rate scored the same way (the metrics' ceiling),
#   4. mice 15 and 16 fine-tuned on the frozen core and trained from scratch with 2, 4,
#      8 and 16 minutes of data, each evaluated on the natural test clips,
#   5. the tables of docs/RESULTS.md assembled from the evaluation.json files.
# Usage: scripts/reproduce.sh [OUT]   (default OUT=reproduce; needs make deps done)
# EPOCHS (default 36) sets the foundation's epochs of configs/small.yaml's 40 steps, in one
# cosine cycle (on 2 cores, 1 min 44 s to 2 min 43 s per epoch in sessions 12 and 14: the
# 36 epochs took 81.8 min in session 14). FT_EPOCHS (default 4) and FT_STEPS (default 20) set
# each fine-tuning run's epochs and steps per epoch, in one cosine cycle whose first epoch
# warms up, so that the rate decays to the end (80 steps, as session 12's 2 epochs of 40,
# which took about 2 min per run; the 4 epochs validate twice as often). Session 12 measured
# 1 h 59 min in all for EPOCHS=20 with 2 fine-tuning epochs of 40 steps; the defaults took
# 2 h 41 min in sessions 14 and 15 and 2 h 25 min in sessions 16 and 17 without the
# simulation (2 h 53 min and about 2 h 38 min with its 11 min 38 s).
# Steps already done in OUT (the dataset, finished runs, finished evaluations) are kept, so a
# stopped run continues; the time reported is that of every invocation on OUT together.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-reproduce}
BIN=bin/fmcore
make build
mkdir -p "$OUT"
start=$(date +%s)
before=$(cat "$OUT/seconds" 2>/dev/null || echo 0)
# The time so far is saved at every step and on exit, so that a run killed outright (no
# EXIT trap) loses at most its current step's time.
save_seconds() { echo $((before + $(date +%s) - start)) > "$OUT/seconds"; }
trap save_seconds EXIT
log() {
  save_seconds
  echo "== $(date -u +%H:%M:%S) $*" | tee -a "$OUT/reproduce.log"
}

# recipe NAME EPOCHS [STEPS] writes OUT/NAME.yaml, configs/small.yaml with EPOCHS epochs (of
# STEPS steps when given) in one cosine cycle, and prints its path.
recipe() {
  sed "s/^  epochs: .*/  epochs: $2/; s/^    cycle_size: .*/    cycle_size: $2/${3:+; s/^  batches_per_epoch: .*/  batches_per_epoch: $3/}" \
    configs/small.yaml > "$OUT/$1.yaml"
  echo "$OUT/$1.yaml"
}
EPOCHS=${EPOCHS:-36}
FT_EPOCHS=${FT_EPOCHS:-4}
FT_STEPS=${FT_STEPS:-20}
CONFIG=$(recipe foundation "$EPOCHS")
FT_CONFIG=$(recipe finetune "$FT_EPOCHS" "$FT_STEPS")

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
