#!/usr/bin/env bash
# Train the shipped default model from scratch: a teacher, then the DS-CNN-S student distilled
# from it, both on every speaker of the data (no hold-out: the held-out figures come from
# benchmarks/bench_training.py, same recipe), then int8 export into kws/models/default/.
#
#   bash scripts/train-default-model.sh [DATA_DIR ...]   default: ../shared/data's Speech Commands
set -euo pipefail
cd "$(dirname "$0")/.."
data=()
for dir in "$@"; do data+=(--data "$dir"); done
kws=.venv/bin/kws
"$kws" train kws/configs/default.toml "${data[@]}" --architecture ds-cnn-teacher --validation-percent 0 \
  --run runs/default-teacher
"$kws" distill kws/configs/default.toml "${data[@]}" --teacher runs/default-teacher --validation-percent 0 \
  --run runs/default-student --export kws/models/default/model.json
# The student's float weights too: `kws wakeword train --backbone default` starts from them.
cp runs/default-student/best.weights.npz kws/models/default/student.weights.npz
