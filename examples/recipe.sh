#!/usr/bin/env bash
# The Kimi k1.5 data recipe end to end on SmolLM2-135M-Instruct on a CPU (docs/recipe.md):
# arithmetic set -> difficulty -> filter -> sample + sft -> train (uniform, curriculum,
# prioritized, SFT-then-prioritized) at equal wall time and seed -> eval -> one PNG.
#
#   MINUTES=30 OUT=runs/recipe examples/recipe.sh
#   MINUTES=15 N=300 OUT=runs/recipe15 examples/recipe.sh    # the smaller run in docs/recipe.md
#
# MINUTES is each arm's budget; the SFT arm's RL gets MINUTES minus what sampling and SFT
# took, so all four arms spend the same wall time after grading and filtering (shared).
set -euo pipefail
cd "$(dirname "$0")/.."
V=.venv/bin/verirl
PY=.venv/bin/python
OUT=${OUT:-runs/recipe}
MINUTES=${MINUTES:-30}
SEED=${SEED:-0}
MODEL=${MODEL:-smollm2}
N=${N:-1500}               # training problems generated (before filtering)
HELDOUT=${HELDOUT:-150}
EVAL_SAMPLES=${EVAL_SAMPLES:-4}
EVAL_EVERY=${EVAL_EVERY:-8}
CURRICULUM_STEPS=${CURRICULUM_STEPS:-20,40,60}   # the latest step each next level starts
GUESS=${GUESS:-1}          # 0: skip the guessing filter (it needs the model; see docs/recipe.md)
mkdir -p "$OUT"

# 1. a mixed-difficulty arithmetic set, held-out questions disjoint from training ones
$PY -m trainer.arithmetic --n "$N" --heldout "$HELDOUT" --levels 1,2,3,4,5,6 --seed "$SEED" --out "$OUT/data"

# 2. difficulty from the base model's pass rate (10 samples at T=1), tagged kind/level
$V difficulty --model "$MODEL" --data "$OUT/data/train.jsonl" --output "$OUT/graded.jsonl" \
    --samples 10 --temperature 1.0 --max-new-tokens 64 --edges 0.2,0.5,0.8 --tag --seed "$SEED"

# 3. filters: question types, unverifiable golds, held-out near-duplicates, guessable
GUESS_FLAGS=()
if [ "$GUESS" = 1 ]; then GUESS_FLAGS=(--model "$MODEL" --guesses 8 --guess-tokens 8); fi
$V filter --data "$OUT/graded.jsonl" --heldout "$OUT/data/heldout.jsonl" "${GUESS_FLAGS[@]}" \
    --output "$OUT/kept.jsonl" --rejects "$OUT/rejects.jsonl" | tee "$OUT/filter_report.json"

COMMON=(--data "$OUT/kept.jsonl" --heldout "$OUT/data/heldout.jsonl" --loss kimi --seed "$SEED"
        --samples-per-prompt 8 --prompts-per-step 8 --max-new-tokens 64 --lr 5e-6
        --eval-every "$EVAL_EVERY" --eval-limit 60 --save-every 8)

# 4. RL from the base model with each sampler, the same seed and budget
$V train --model "$MODEL" "${COMMON[@]}" --sampler uniform --max-minutes "$MINUTES" --output "$OUT/uniform"
$V train --model "$MODEL" "${COMMON[@]}" --sampler curriculum --curriculum-threshold 0.6 \
    --curriculum-window 2 --curriculum-steps "$CURRICULUM_STEPS" --max-minutes "$MINUTES" --output "$OUT/curriculum"
$V train --model "$MODEL" "${COMMON[@]}" --sampler prioritized --priority-floor 0.05 --retire-after 3 \
    --max-minutes "$MINUTES" --output "$OUT/prioritized"

# 5. SFT first (ReFT, Kimi): rejection-sampled verified answers, shortest per problem
start=$(date +%s)
$V sample --model "$MODEL" --data "$OUT/kept.jsonl" --samples 8 --keep shortest --max-new-tokens 64 \
    --seed "$SEED" --output "$OUT/sft.jsonl"
$V sft --model "$MODEL" --data "$OUT/sft.jsonl" --epochs 2 --batch-size 8 --lr 1e-5 --seed "$SEED" \
    --output "$OUT/sft_model"
spent=$(( $(date +%s) - start ))
rl_minutes=$($PY -c "print(max(1.0, $MINUTES - $spent / 60))")
$V train --model "$OUT/sft_model" "${COMMON[@]}" --sampler prioritized --priority-floor 0.05 --retire-after 3 \
    --max-minutes "$rl_minutes" --output "$OUT/sft_rl"

# 6. held-out accuracy of every arm, and the curves in one PNG (x: minutes of training)
for arm in uniform curriculum prioritized sft_rl; do
    $V eval --model "$OUT/$arm/final" --data "$OUT/data/heldout.jsonl" --samples "$EVAL_SAMPLES" \
        --output "$OUT/$arm/heldout.jsonl" | tee "$OUT/$arm/heldout_summary.json"
done
# the SFT arm's curve starts after the minutes its sampling and SFT took
sft_minutes=$($PY -c "print(round($spent / 60, 2))")
$V plot "$OUT/uniform" "$OUT/curriculum" "$OUT/prioritized" "$OUT/sft_rl" --x time \
    --offset "sft_rl=$sft_minutes" --output "$OUT/curves.png"
