"""Harbor reward files from a `dvsmith eval --json` result (run by an exported task's tests/test.sh).

``python -m dvsmith.export.reward VERIFIER_DIR EXIT_CODE`` reads ``VERIFIER_DIR/eval.json`` (and
``eval.stderr.txt`` when the eval failed before grading) and writes, always:

* ``reward.txt``: the score (0 when the eval could not grade);
* ``reward.json``: numbers only, as Harbor's verifier requires: ``reward``, ``passed``, ``health`` and its
  parts (``compiled``, ``ran``, ``test_started``, ``uvm_errors``, ``uvm_fatals``), ``coverage_<metric>``;
* ``reasons.txt``: one reason per line; the eval's compile and run logs are copied beside them.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, Field

from dvsmith.paths import atomic_write_bytes, atomic_write_text


class Reward(BaseModel):
    reward: float = 0.0
    values: dict[str, float] = Field(default_factory=dict)  # reward.json (numbers only)
    reasons: list[str] = Field(default_factory=list)


def reward_from_eval(doc: dict[str, Any] | None, exit_code: int, stderr: str = "") -> Reward:
    """The reward of one eval result; 0 with the eval's error when there is no result."""
    if not isinstance(doc, dict):
        why = next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "") or f"dvsmith eval exited {exit_code}"
        return Reward(reward=0.0, values={"reward": 0.0, "passed": 0, "health": 0}, reasons=[why])
    score = float(doc.get("score") or 0.0)
    passed = bool(doc.get("passed"))
    errors, fatals = doc.get("uvm_errors"), doc.get("uvm_fatals")
    parts = {
        "compiled": int(bool(doc.get("compiled"))),
        "ran": int(bool(doc.get("ran"))),
        "test_started": int(bool(doc.get("started"))),
    }
    healthy = all(parts.values()) and errors == 0 and fatals == 0 and not doc.get("protected_edits")
    values: dict[str, float] = {"reward": score, "passed": int(passed), "health": int(healthy), **parts}
    if isinstance(errors, int):
        values["uvm_errors"] = errors
    if isinstance(fatals, int):
        values["uvm_fatals"] = fatals
    for metric, pct in sorted((doc.get("coverage") or {}).items()):
        if isinstance(pct, int | float):
            values[f"coverage_{metric}"] = float(pct)
    return Reward(reward=score, values=values, reasons=[str(r) for r in doc.get("reasons") or []])


def write_reward(verifier_dir: Path, exit_code: int) -> Reward:
    doc: Any = None
    with contextlib.suppress(OSError, orjson.JSONDecodeError):
        doc = orjson.loads((verifier_dir / "eval.json").read_bytes())
    if isinstance(doc, list):  # one job: one document
        doc = doc[0] if doc else None
    stderr = ""
    with contextlib.suppress(OSError):
        stderr = (verifier_dir / "eval.stderr.txt").read_text(errors="replace")
    reward = reward_from_eval(doc, exit_code, stderr)
    atomic_write_text(verifier_dir / "reasons.txt", "".join(r + "\n" for r in reward.reasons))
    if isinstance(doc, dict):
        for key in ("log", "compile_log"):
            src = doc.get(key)
            if src and Path(src).is_file():
                with contextlib.suppress(OSError):
                    shutil.copyfile(src, verifier_dir / f"{key}.txt")
    atomic_write_bytes(verifier_dir / "reward.json", orjson.dumps(reward.values, option=orjson.OPT_SORT_KEYS))
    atomic_write_text(verifier_dir / "reward.txt", f"{reward.reward}\n")
    return reward


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m dvsmith.export.reward VERIFIER_DIR EVAL_EXIT_CODE", file=sys.stderr)
        return 2
    write_reward(Path(argv[0]), int(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
