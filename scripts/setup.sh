#!/usr/bin/env bash
# Set up the workbench on a fresh machine, idempotently.
#
#   scripts/setup.sh          Python environment (.venv) from requirements.lock, and
#                             the Debian packages the pipeline's codegen stage counts
#                             instructions with: valgrind (x86-64), the RISC-V
#                             compiler, picolibc and QEMU (rv32imc, tinyad/board/rv32.py)
#   scripts/setup.sh --test   the same, plus the Debian packages the tests use:
#                             cross compilers (Xtensa, Arm), headless Chromium and its driver
#
# Only PyPI and Debian's archive are used; PlatformIO is provisioned offline by
# the firmware stage itself (tinyad/board/pio.py).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
APT_PIPELINE=(
  valgrind
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
)
APT_TEST=(
  gcc-xtensa-lx106 picolibc-xtensa-lx106-elf
  gcc-arm-none-eabi libnewlib-arm-none-eabi
  chromium chromium-driver
)

pick_python() {
  for cand in "${PYTHON:-}" python3.11 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$cand"; return 0
    fi
  done
  echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "setup: creating .venv with $py"
  "$py" -m venv .venv
fi
if ! .venv/bin/uv --version 2>/dev/null | grep -q "^uv $UV_VERSION"; then
  .venv/bin/python -m pip install -q "uv==$UV_VERSION"
fi
echo "setup: installing the locked Python dependencies (requirements.lock)"
.venv/bin/uv pip sync -q --python .venv/bin/python requirements.lock
# the project itself, editable and without dependencies (they are the lock's): the
# `tinyad` console script (pyproject.toml [project.scripts])
.venv/bin/uv pip install -q --no-deps --python .venv/bin/python -e .
# `dvc plots show` offline: the HTML template with Vega inlined (tinyad/tools/plots.py)
.venv/bin/python -m tinyad.tools.plots >/dev/null

APT_PACKAGES=("${APT_PIPELINE[@]}")
[ "${1:-}" = "--test" ] && APT_PACKAGES+=("${APT_TEST[@]}")
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: done"
