#!/usr/bin/env bash
# The test suite (ruff + pytest). Extra arguments go to pytest, e.g. -m 'not sim' to skip simulation.
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
ruff check dvsmith tests scripts
python -m pytest -q "$@"
