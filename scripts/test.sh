#!/usr/bin/env bash
# The test suite (ruff + pytest). Extra arguments go to pytest, e.g. -m 'not sim' to skip simulation.
# Simulation tests need g++/make/perl (and ccache to be fast); the UVM library is provisioned once from
# PyPI into dvsmith's cache. Without a toolchain they are skipped, unless DVSMITH_REQUIRE_SIM=1 (CI).
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
ruff check dvsmith tests scripts
provision_uvm || echo "note: UVM library not provisioned; simulation tests will be skipped" >&2
if [ $# -gt 0 ]; then
  exec python -m pytest -q "$@"
fi
# The whole suite in two parts: the fast tests spread over workers (most of their time is CLI start-up and
# waiting on subprocesses: 375 s in one process, 209 s over 4 workers on 2 cores), then the simulation
# tests in one process, because they share their compiled fixture builds (tests/simkit.py).
rc=0
python -m pytest -q -m "not sim" -n "${DVSMITH_TEST_WORKERS:-4}" --dist worksteal || rc=$?
python -m pytest -q -m sim || rc=$?
exit "$rc"
