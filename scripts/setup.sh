#!/usr/bin/env bash
# Set up kws on this machine: system packages (Debian/Ubuntu, when run as root or with sudo),
# then a virtual environment in .venv with kws installed in editable mode.
#
#   bash scripts/setup.sh [EXTRAS]     EXTRAS defaults to "dev" (everything the tests need)
#
# Other systems: install PortAudio, espeak-ng and flite yourself (macOS: brew install portaudio
# espeak-ng flite; Fedora: dnf install portaudio espeak-ng flite), then run this script; it
# skips the apt step where apt-get is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-dev}"
# PortAudio for sounddevice (kws listen, kws devices); espeak-ng, flite and festival (with its
# three free US English voices) speak the example and the synthetic training speech of
# kws wakeword train. The tests also build firmware: the Arm toolchain and QEMU.
system_packages=(libportaudio2 espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)
if [ "$extras" = dev ]; then
  system_packages+=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for package in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
fi
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these system packages: ${missing[*]}" >&2
  fi
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
echo "setup: installing kws[$extras] into .venv (the first time compiles cmsisdsp, about a minute)"
log=.venv/pip-install.log
# pip's build chatter goes to a log, shown only when the install fails.
if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[$extras]"; } >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "setup: pip install failed; the whole log is in $log" >&2
  exit 1
fi
if [ "$extras" = dev ]; then
  # CMSIS-DSP's C sources for the firmware, from the pinned cmsisdsp sdist (sha256-checked,
  # cached in ~/.cache/kws): fetched here, at install time, so tests never download.
  .venv/bin/python -m kws.firmware.cmsis_dsp >/dev/null
fi
echo "setup: done; activate with: source .venv/bin/activate"
