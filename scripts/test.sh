#!/usr/bin/env bash
# The test suite (ruff + pytest). Extra arguments go to pytest, e.g. -m 'not sim' to skip simulation.
# Simulation tests need g++/make/perl (and ccache to be fast); the UVM library is provisioned once from
# PyPI into dvsmith's cache. Without a toolchain they are skipped, unless DVSMITH_REQUIRE_SIM=1 (CI).
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
ruff check dvsmith tests scripts
provision_uvm || echo "note: UVM library not provisioned; simulation tests will be skipped" >&2
python -m pytest -q "$@"
