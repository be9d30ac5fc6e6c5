#!/usr/bin/env bash
# Set-up shared by `make demo` and `make test`: a Python 3.10 venv with the
# package installed, and Debian's Fashion-MNIST files. A second run is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

find_python310() {
  if command -v python3.10 >/dev/null 2>&1 && python3.10 -c '' >/dev/null 2>&1; then
    command -v python3.10; return
  fi
  if command -v pyenv >/dev/null 2>&1; then
    for p in "$(pyenv root)"/versions/3.10*/bin/python3.10; do
      [ -x "$p" ] && { echo "$p"; return; }
    done
  fi
  for p in "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -x "$p" ] && { echo "$p"; return; }
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python310); then
    echo "error: TFX 1.16 needs Python 3.10, and none was found (tried python3.10 on the PATH and pyenv's versions/3.10*)." >&2
    echo "Install Python 3.10 (e.g. 'pyenv install 3.10') and run this again." >&2
    exit 1
  fi
  echo "==> creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

stamp="$VENV/.deeprob-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  # Everything: the library, the TFX pipeline extra (deeprob_pipeline) and the test tools.
  echo "==> installing deeprob-keras[pipeline,test] and its pinned stack into $VENV (first time: a few minutes, ~3.4 GB)"
  # -qq: errors only (a mirror-less index in a global pip.conf otherwise prints hundreds of warnings).
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  # constraints.txt pins every package to the set the tests passed with (see its header).
  # --no-compile: Python writes the bytecode of the modules actually imported, on first import;
  # pip would otherwise compile every file of the ~3.4 GB stack up front.
  "$VENV/bin/python" -m pip install -qq --no-compile -c constraints.txt -e ".[pipeline,test]"
  touch "$stamp"
fi

FMNIST_DIR=${DEEPROB_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$FMNIST_DIR/train-images-idx3-ubyte.gz" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's dataset-fashion-mnist"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "error: Fashion-MNIST files are missing from $FMNIST_DIR." >&2
    echo "Run: sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist" >&2
    exit 1
  fi
fi
