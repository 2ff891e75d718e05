"""JUnit XML (``--junit FILE`` on build, validate and eval): the report format every CI system renders.

One ``<testsuite>`` per command inside ``<testsuites>``; one ``<testcase>`` per task (build, validate)
or per evaluated job (eval), with ``time`` in seconds; an invalid task or a failed eval is a
``<failure>`` whose ``message`` is the first reason and whose text holds them all. Problems of the gym
as a whole (a changed gym/, a dangling reference no task owns) are one more test case, ``gym``.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dvsmith import __version__
from dvsmith.gym.models import BuildReport
from dvsmith.paths import atomic_write_bytes

_MAX_MESSAGE = 500


def _clean(text: str) -> str:
    """XML 1.0 cannot hold most control characters: drop them."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def _seconds(value: float) -> str:
    return f"{max(0.0, float(value)):.3f}"


def _case(suite: ET.Element, name: str, classname: str, seconds: float, reasons: list[str] | None,
          out: str = "", failure_type: str = "failure") -> None:  # fmt: skip
    case = ET.SubElement(suite, "testcase", name=_clean(name), classname=_clean(classname), time=_seconds(seconds))
    if reasons is not None:
        first = reasons[0] if reasons else "failed"
        fail = ET.SubElement(case, "failure", message=_clean(first)[:_MAX_MESSAGE], type=failure_type)
        fail.text = _clean("\n".join(reasons) or first)
    if out:
        ET.SubElement(case, "system-out").text = _clean(out)


def _document(suite_name: str, cases: list[tuple[str, str, float, list[str] | None, str, str]], *,
              wall_s: float, properties: dict[str, str], timestamp: str | None = None) -> bytes:  # fmt: skip
    failures = sum(1 for c in cases if c[3] is not None)
    stamp = timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name="dvsmith", tests=str(len(cases)), failures=str(failures), errors="0",
                      skipped="0", time=_seconds(wall_s))  # fmt: skip
    suite = ET.SubElement(root, "testsuite", name=_clean(suite_name), tests=str(len(cases)), failures=str(failures),
                          errors="0", skipped="0", time=_seconds(wall_s), timestamp=stamp,
                          hostname=_clean(socket.gethostname() or "localhost"))  # fmt: skip
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", name=key, value=_clean(str(value)))
    for name, classname, seconds, reasons, out, ftype in cases:
        _case(suite, name, classname, seconds, reasons, out, ftype)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def build_junit(report: BuildReport, *, command: str = "build") -> bytes:
    """One test case per task of a build (or a validation): valid passes, invalid fails with its reasons."""
    classname = f"dvsmith.{report.profile}"
    cases: list[tuple[str, str, float, list[str] | None, str, str]] = []
    for t in report.tasks:
        seconds = sum(r.wall_s for r in (t.oracle, t.nop) if r is not None)
        out = []
        if t.oracle is not None:
            out.append(f"oracle: {'pass' if t.oracle.passed else 'FAIL'} {t.oracle.reason}".rstrip())
            if t.oracle.log:
                out.append(f"oracle log: {t.oracle.log}")
        if t.nop is not None:
            out.append(f"nop: {'pass' if t.nop.passed else 'fail (as it must)'}")
        reasons = None
        if not t.valid:
            reasons = [r for r in [t.invalid_reason, *t.static_problems] if r]
            reasons = list(dict.fromkeys(reasons)) or ["invalid"]
        kind = "static" if (not t.valid and not t.static_ok) else "invalid"
        cases.append((t.id, classname, seconds, reasons, "\n".join(out), kind))
    if report.static_problems:
        cases.append(("gym", classname, 0.0, list(report.static_problems), "", "static"))
    props = {"dvsmith_version": __version__, "profile": report.profile, "out_dir": report.out_dir,
             "simulator": report.sim.simulator if report.sim else "none"}  # fmt: skip
    return _document(f"dvsmith {command} {report.profile}", cases, wall_s=report.wall_s, properties=props)


def eval_junit(results: list[Any], *, gym: str = "", wall_s: float = 0.0) -> bytes:
    """One test case per evaluated job (``EvalResult``); a job that did not pass fails with its reasons."""
    cases: list[tuple[str, str, float, list[str] | None, str, str]] = []
    seen: dict[str, int] = {}
    for r in results:
        seen[r.task] = seen.get(r.task, 0) + 1
        name = r.task if seen[r.task] == 1 else f"{r.task} #{seen[r.task]}"
        out = f"score {r.score:.3f}" + (f"\nlog: {r.log}" if r.log else "")
        reasons = None if r.passed else (list(r.reasons) or [f"score {r.score:.3f} below the pass score"])
        cases.append((name, f"dvsmith.eval.{r.task}", r.wall_s, reasons, out, "eval"))
    return _document("dvsmith eval", cases, wall_s=wall_s or sum(r.wall_s for r in results),
                     properties={"dvsmith_version": __version__, "gym": gym})  # fmt: skip


def write_junit(path: Path, data: bytes) -> Path:
    atomic_write_bytes(path, data)
    return path
