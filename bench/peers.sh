#!/usr/bin/env bash
# The peers of the Python-uses-JS benchmarks (bench/jsproxy*.js): PythonMonkey (SpiderMonkey
# inside CPython, PyPI `pythonmonkey`, in-process) and pythonia (JSPyBridge, PyPI `javascript`: a
# node child over a pipe, which needs node on PATH) in a venv of their own, in
# ~/.cache/python-ts/bench-peers-venv (or $PYTHON_TS_PEERS_VENV). bench/lib.js uses that venv's
# python when PYTHON_TS_PEERS_PYTHON is unset. Run once: `bash bench/peers.sh` (again to update).
# Uses $PYTHON (default python3) to make the venv. When the install fails it says why and exits
# with status 0: the peer's rows are then skipped.
set -u
VENV="${PYTHON_TS_PEERS_VENV:-$HOME/.cache/python-ts/bench-peers-venv}"
PY="${PYTHON:-python3}"
mkdir -p "$(dirname "$VENV")"
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV"; then
    echo "bench/peers.sh: could not make a venv with $PY at $VENV: the PythonMonkey rows are skipped" >&2
    rm -rf "$VENV"
    exit 0
  fi
fi
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pythonmonkey; then
  echo "bench/peers.sh: pip install pythonmonkey failed (see above): the PythonMonkey rows are skipped" >&2
  exit 0
fi
if ! "$VENV/bin/python" -c 'import pythonmonkey as pm; assert pm.eval("Math.max(1, 2)") == 2'; then
  echo "bench/peers.sh: pythonmonkey installed but does not run here (see above): the PythonMonkey rows are skipped" >&2
  exit 0
fi
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade javascript; then
  echo "bench/peers.sh: pip install javascript (pythonia) failed (see above): its rows are skipped" >&2
fi
echo "PythonMonkey $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pythonmonkey"))') ready: $VENV/bin/python"
