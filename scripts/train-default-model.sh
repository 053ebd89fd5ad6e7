#!/usr/bin/env bash
# Train the shipped default model from scratch: synthetic keyword clips from every installed TTS
# voice (`kws data synthesize`, 240 voices), then a teacher, then the DS-CNN-S student distilled
# from it, both on every speaker of the real data plus those clips (no hold-out: the held-out
# figures come from benchmarks/bench_training.py, same recipe), then int8 export into
# kws/models/default/.
#
#   bash scripts/train-default-model.sh [DATA_DIR ...]   default: ../shared/data's Speech Commands
set -euo pipefail
usage="usage: bash scripts/train-default-model.sh [DATA_DIR ...]  (Speech Commands folders; default: ../shared/data's two)"
case "${1:-}" in -h|--help) echo "$usage"; exit 0 ;; esac
real=()
for dir in "$@"; do case "$dir" in /*) real+=("$dir") ;; *) real+=("$PWD/$dir") ;; esac; done  # before the cd
cd "$(dirname "$0")/.."
if [ ${#real[@]} -eq 0 ]; then
  real=(../shared/data/speech_commands_v2_test_dev ../shared/data/speech_commands_v1_unknown_dev)
fi
kws=.venv/bin/kws
# The data is checked before minutes of synthesis: a missing folder is one line, exit 2.
[ -x "$kws" ] || { echo "kws: error: $kws not found: run 'bash scripts/setup.sh dev' first" >&2; exit 2; }
for dir in "${real[@]}"; do
  if [ ! -d "$dir" ]; then echo "kws: error: no Speech Commands folder at $dir ($usage)" >&2; exit 2; fi
done
synthetic=runs/tts-keywords-grid
"$kws" data synthesize "$synthetic" --voices 240 --cache runs/tts-keywords-grid-cache
data=()
for dir in "${real[@]}" "$synthetic"; do data+=(--data "$dir"); done
"$kws" train kws/configs/default.toml "${data[@]}" --architecture ds-cnn-teacher --validation-percent 0 \
  --run runs/default-teacher
"$kws" distill kws/configs/default.toml "${data[@]}" --teacher runs/default-teacher --validation-percent 0 \
  --run runs/default-student --export kws/models/default/model.json
# (`kws wakeword train --backbone default` starts from kws/models/wakeword_backbone/, weights of
# an earlier 12-class model trained on real speech only, which measured better for wake words.)
