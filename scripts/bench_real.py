"""Real repositories through dvsmith: ingest + ``build --sim verilator`` on each folder, one table.

For each folder given: ``dvsmith ingest`` then ``dvsmith build --provider offline --sim verilator`` (through
the CLI, in one DVSMITH_HOME so the compile cache is shared), then a row: tasks, valid, invalid by cause
(the first words of each invalid reason, e.g. "the original does not compile: missing include"), the
compile seconds (sum over the build's compiles) and the run seconds (the build's run phase).

Each build compiles two UVM benches per compile unit (minutes each on 2 cores): run it on a machine with
time to spare. ``--static`` stops after ingest and prints what the recipe detection found instead (no
compile), which is quick.

Usage: .venv/bin/python scripts/bench_real.py REPO_DIR [REPO_DIR ...] [--out DIR] [--static] [--json]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent


def _cli(env: dict[str, str], *args: str, timeout: float = 7200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvsmith", *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=timeout, cwd=ROOT,
    )  # fmt: skip


def _cause(reason: str | None) -> str:
    """A short class for an invalid reason: its text up to the first file name or number."""
    if not reason:
        return "?"
    head = reason.split(" at ")[0].split(" (")[0]
    return head[:70]


def static_row(name: str, profile: dict[str, Any]) -> dict[str, Any]:
    units = profile.get("compile_units", [])
    tests = [t for t in profile.get("tests", []) if not t.get("is_base") and t.get("in_build")]
    return {
        "repo": name,
        "tests": len(tests),
        "units": len(units),
        "recipe": ",".join(sorted({(u.get("recipe") or {}).get("source", "?") for u in units})),
        "tops": ";".join("+".join(u.get("top_modules", [])) for u in units),
        "flavour": ",".join(sorted({u.get("uvm_flavour", "?") for u in units})),
        "not_found": sum(1 for d in profile.get("diagnostics", []) if "not found" in d.get("message", "")),
    }


def build_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    tasks = report.get("tasks", [])
    sim = report.get("sim") or {}
    invalid = Counter(_cause(t.get("invalid_reason")) for t in tasks if not t.get("valid"))
    return {
        "repo": name,
        "tasks": len(tasks),
        "valid": sum(1 for t in tasks if t.get("valid")),
        "invalid": dict(invalid),
        "compile_s": round(sum((sim.get("compile_s") or {}).values()), 1),
        "run_s": round((report.get("phases") or {}).get("run", 0.0), 1),
        "rewrites": len(report.get("rewrites", [])),
        "diagnosis": sorted({line for lines in (sim.get("compile_diagnosis") or {}).values() for line in lines}),
    }


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    cells = [[str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repos", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=None, help="folder for the gyms (default: a temp folder)")
    ap.add_argument("--static", action="store_true", help="ingest only: what the recipe detection found")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out_root = args.out or Path(tempfile.mkdtemp(prefix="dvsmith-bench-real-"))
    env = {"DVSMITH_HOME": os.environ.get("DVSMITH_HOME", str(out_root / "home"))}
    rows: list[dict[str, Any]] = []
    for repo in args.repos:
        name = repo.resolve().name
        ing = _cli(env, "ingest", str(repo), "--name", name, "--json")
        if ing.returncode != 0:
            rows.append({"repo": name, "error": (ing.stderr.strip().splitlines() or ["ingest failed"])[-1]})
            continue
        profile = orjson.loads(ing.stdout)
        if args.static:
            rows.append(static_row(name, profile))
            continue
        b = _cli(env, "build", name, "--provider", "offline", "--sim", "verilator",
                 "--out", str(out_root / name), "--json")  # fmt: skip
        if not b.stdout.strip():
            rows.append({"repo": name, "error": (b.stderr.strip().splitlines() or ["build failed"])[-1]})
            continue
        rows.append(build_row(name, orjson.loads(b.stdout)))
    if args.json:
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    cols = (
        ["repo", "tests", "units", "recipe", "tops", "flavour", "not_found", "error"]
        if args.static
        else ["repo", "tasks", "valid", "invalid", "compile_s", "run_s", "rewrites", "error"]
    )
    print(_table(rows, cols))
    if not args.static:
        for r in rows:
            for line in r.get("diagnosis", []):
                print(f"{r['repo']}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
