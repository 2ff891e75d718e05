#!/usr/bin/env bash
# The test suite (ruff + pytest). Extra arguments go to pytest, e.g. -m 'not sim' to skip simulation.
# Simulation tests need g++/make/perl (and ccache to be fast); the UVM library is provisioned once from
# PyPI into dvsmith's cache. Without a toolchain they are skipped, unless DVSMITH_REQUIRE_SIM=1 (CI).
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
ruff check dvsmith tests scripts
if [ -z "${UVM_HOME:-}" ]; then
  if UVM_HOME="$(env -u DVSMITH_HOME python -c 'from dvsmith.sim.toolchain import ensure_uvm; print(ensure_uvm())' 2>/dev/null)"; then
    export UVM_HOME
  else
    unset UVM_HOME
    echo "note: UVM library not provisioned; simulation tests will be skipped" >&2
  fi
fi
python -m pytest -q "$@"
