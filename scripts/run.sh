#!/usr/bin/env bash
# Set up kws and run its main job on this machine: keyword spotting with the shipped model.
#
# With a microphone: `kws listen`, live. Without one (servers, CI): espeak-ng speaks the ten
# keywords into example/keywords.wav, `kws detect` streams it through the detector exactly as
# the microphone path would, and `kws features` plots the MFCC of one word.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh plot
kws=.venv/bin/kws
mkdir -p example
if command -v espeak-ng >/dev/null 2>&1; then
  espeak-ng -v en-us -s 120 -g 40 -w example/keywords.wav "yes. no. up. down. left. right. on. off. stop. go."
  espeak-ng -v en-us -w example/yes.wav "yes"
else
  echo "run: espeak-ng not found; using a synthetic vowel instead of speech" >&2
  .venv/bin/python -c "
import sys; sys.path.insert(0, 'tests')
from signals import named_signals
from kws.audio import write_wav
write_wav('example/keywords.wav', named_signals(16000)['vowel_a_synthetic'], 16000)
write_wav('example/yes.wav', named_signals(16000)['vowel_a_synthetic'], 16000)"
fi
echo "== kws detect example/keywords.wav (the ten keywords, spoken by espeak-ng)"
"$kws" detect example/keywords.wav
echo "== kws features example/yes.wav --png example/yes_mfcc.png"
"$kws" features example/yes.wav --png example/yes_mfcc.png | tail -n 1
echo "== kws listen (live; Ctrl-C ends it)"
"$kws" listen || echo "run: no microphone here; kws detect above is the same detector on a file"
