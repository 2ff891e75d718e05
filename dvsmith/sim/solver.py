"""Verilator's constraint solver, watched: runs use ``data/dvsmith_solver.sh`` as ``VERILATOR_SOLVER`` so
that z3's error replies (queries Verilator translated wrongly, after which a run can hang) are kept in a
log next to the run's and reported as the cause of a failed run."""

from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path

SOLVER_SCRIPT = Path(str(resources.files("dvsmith.sim") / "data" / "dvsmith_solver.sh"))
MAX_ERRORS = 3


def solver_env(z3: Path | None, log: Path) -> dict[str, str]:
    """Environment entries that route Verilator's solver through the wrapper, writing errors to ``log``.
    Empty (Verilator's default ``z3 --in`` on PATH) when there is no z3, or when a path holds a space:
    Verilator splits VERILATOR_SOLVER on spaces."""
    if z3 is None or " " in str(SOLVER_SCRIPT) or not SOLVER_SCRIPT.is_file():
        return {}
    return {
        "VERILATOR_SOLVER": f"/bin/sh {SOLVER_SCRIPT} --in",
        "DVSMITH_Z3": str(z3),
        "DVSMITH_SOLVER_LOG": str(log),
    }


def read_solver_errors(log: Path) -> list[str]:
    """The first few distinct error replies of the solver during a run ([] when there were none)."""
    text = ""
    with contextlib.suppress(OSError):
        text = log.read_bytes()[:65536].decode("utf-8", errors="replace")
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()[:300]
        if line and line not in out:
            out.append(line)
        if len(out) >= MAX_ERRORS:
            break
    return out
