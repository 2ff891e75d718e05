# Sourced by demo.sh and test.sh: create or reuse .venv and install dvsmith with its extras.
# Reinstalls only when pyproject.toml or DVSMITH_EXTRAS changed since the last install (a stamp file records it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DVSMITH_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.dvsmith-installed"
EXTRAS="${DVSMITH_EXTRAS:-dev,sim}"  # CI adds ray (the Ray executor's tests)
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1) $EXTRAS"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[$EXTRAS]"
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

# provision_uvm: export UVM_HOME, unpacking the UVM 1800.2-2017 source from PyPI into dvsmith's cache
# once (later calls reuse it). Returns 1, leaving UVM_HOME unset, when it cannot be had.
provision_uvm() {
  if [ -n "${UVM_HOME:-}" ]; then return 0; fi
  local home
  if home="$(python -c 'from dvsmith.sim.toolchain import ensure_uvm; print(ensure_uvm())' 2>/dev/null)"; then
    export UVM_HOME="$home"
    return 0
  fi
  return 1
}
