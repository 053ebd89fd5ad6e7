#!/usr/bin/env bash
# Set up kws and run its main job on this machine.
#
# Today that is the frontend: speak a keyword with espeak-ng (or synthesise a vowel where
# espeak-ng is missing), compute its q8.7 MFCC exactly as a Cortex-M running CMSIS-DSP would,
# print a summary and plot it, then list the microphones `kws listen` will use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh plot
kws=.venv/bin/kws
mkdir -p example
if command -v espeak-ng >/dev/null 2>&1; then
  espeak-ng -v en-us -w example/yes.wav "yes"
else
  echo "run: espeak-ng not found; synthesising a vowel instead" >&2
  .venv/bin/python -c "
import sys; sys.path.insert(0, 'tests')
from signals import named_signals
from kws.audio import write_wav
write_wav('example/yes.wav', named_signals(16000)['vowel_a_synthetic'], 16000)"
fi
"$kws" features example/yes.wav --png example/yes_mfcc.png
"$kws" devices || echo "run: no microphone here; kws features works on files all the same"
