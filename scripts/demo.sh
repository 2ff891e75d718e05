#!/usr/bin/env bash
# The main job on a bundled fixture: ingest + build with the offline provider, simulating with Verilator
# when the toolchain is there (`dvsmith doctor` says what is missing). Output: ./dvsmith_out/<fixture>.
source "$(dirname "$0")/_venv.sh"
FIXTURE="${1:-$ROOT/fixtures/a_class_per_file}"
NAME="$(basename "$FIXTURE")"
SIM=none
if provision_uvm && dvsmith doctor >/dev/null 2>&1; then
  SIM=verilator
else
  echo "note: simulation toolchain incomplete (see: dvsmith doctor); building without simulation" >&2
fi
dvsmith ingest "$FIXTURE"
dvsmith build "$NAME" --provider offline --sim "$SIM" --out "$ROOT/dvsmith_out/$NAME"
