#!/usr/bin/env bash
# The acceptance experiments of the VP-engine issue, written as plain `vpbook train` calls so that anyone can
# rerun them: results go to output/experiments/NAME.json (one file per protocol × mapping, all seeds inside).
#   scripts/experiments.sh [xs|s|extras|overlap|scale|all]     (VPBOOK=path/to/vpbook to use another build)
# TEST_CURVE=1 also evaluates the test split after every epoch (curves only; it triples the cost of the small
# protocols); the validation accuracy per epoch is always recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
vpbook="${VPBOOK:-.build/release/vpbook}"
out=output/experiments
mkdir -p "$out"
run() {  # name, then vpbook train arguments
  local name=$1; shift
  if [[ -s "$out/$name.json" ]]; then echo "skip $name (done)"; return; fi
  echo "== $name: $*"
  "$vpbook" train --quiet --json "$out/$name.json" "$@" | tee "$out/$name.txt"
}
# The data and prompt of each protocol, and its training (zero-shot takes no training options).
data_s=(--data fashion-mnist --per-class 500 --val 50 --test 2000 --canvas 128 --image 64)
data_xs=(--data fashion-mnist --per-class 100 --val 50 --test 2000 --canvas 128 --image 64)
training=(--epochs 10 --lr 0.01 --batch 64)
protocol_s=("${data_s[@]}" "${training[@]}")
protocol_xs=("${data_xs[@]}" "${training[@]}")
what=${1:-all}
if [[ $what == xs || $what == all ]]; then
  for m in rlm flm ilm; do run "xs-$m" "${protocol_xs[@]}" --mapping $m --seeds 7,8,9 ${TEST_CURVE:+--curve test}; done
fi
if [[ $what == overlap || $what == all ]]; then
  # Where the mapping matters: small budgets, classes that overlap ImageNet's, many classes.
  small=(--per-class 50 --val 20 --test 50 --canvas 128 --image 64 --epochs 5 --lr 0.01 --batch 64)
  for d in ${OVERLAP_DATA:-animal-mnist union30 mnist-5k}; do
    for m in rlm flm ilm; do run "$d-$m" --data $d "${small[@]}" --mapping $m --seeds 7,8,9 ${TEST_CURVE:+--curve test}; done
  done
  # Class overlap by name: Animal-MNIST's classes are ImageNet concepts; map them through WordNet.
  if [[ " ${OVERLAP_DATA:-animal-mnist} " == *" animal-mnist "* ]]; then
    run "animal-mnist-semantic" --data animal-mnist "${small[@]}" --mapping semantic --seeds 7,8,9
  fi
fi
if [[ $what == s || $what == all ]]; then
  for m in rlm flm ilm; do run "s-$m" "${protocol_s[@]}" --mapping $m --seeds ${SEEDS:-7,8,9} ${TEST_CURVE:+--curve test}; done
fi
# The other mappings and the baselines (PROTOCOL=s for FMNIST-VP-S; default the small-data protocol; EXTRAS=
# a space-separated list of mappings instead of all of them).
if [[ $what == extras || $what == all ]]; then
  p=${PROTOCOL:-xs}
  if [[ $p == s ]]; then data=("${data_s[@]}"); else data=("${data_xs[@]}"); fi
  for m in ${EXTRAS:-blm blm+ fullymap fast-ilm semantic}; do run "$p-$m" "${data[@]}" "${training[@]}" --mapping $m --seeds ${SEEDS:-7}; done
  run "$p-zero-shot" "${data[@]}" --baseline zero-shot
  run "$p-linear-probe" "${data[@]}" --epochs 10 --batch 64 --baseline linear-probe --lr 0.1 --seeds ${SEEDS:-7}
fi
# AutoVP's learnable input scale on the small-data protocol (FLM): the image starting at 64 px (the fixed-scale
# run is xs-flm) and at 32 px in the 128 canvas, each fixed and learned.
if [[ $what == scale || $what == all ]]; then
  run "xs-flm-learn-scale" "${protocol_xs[@]}" --mapping flm --seeds 7,8,9 --scale learn
  run "xs-flm-image32" "${protocol_xs[@]}" --image 32 --mapping flm --seeds 7,8,9
  run "xs-flm-image32-learn-scale" "${protocol_xs[@]}" --image 32 --mapping flm --seeds 7,8,9 --scale learn
fi
