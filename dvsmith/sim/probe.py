"""The grader probe: a channel for run health that a solution cannot write.

``dvsmith_probe.sv`` (package data) is compiled beside every testbench and bound into its top module.
A run given ``+dvsmith_probe=<file>`` writes, from the probe's ``final`` block, what UVM itself knows at
the end: the report server's counts, the states of the check/report/final phases, UVM's core state, the
test that ran, the sequences started on every sequencer and the items the drivers finished. The file
name and a nonce are fresh per run (chosen by the grader), and the solution may not write files, call
``$system``/``$c`` or declare modules (the allowlist), so the only writer of that file is the probe.

A run whose probe file is missing, malformed, of another nonce, or reports phases that did not run is
unhealthy, whatever its log says; the log stays a second opinion.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dvsmith import paths

PROBE_MODULE = "dvsmith_probe"
PROBE_FORMAT = "dvsmith-probe 1"
_NAME = re.compile(r"^[A-Za-z0-9_:#(),.$]{1,200}$")
_INT_KEYS = {
    "count_info": "uvm_info",
    "count_warning": "uvm_warning",
    "count_error": "uvm_error",
    "count_fatal": "uvm_fatal",
    "sequencers": "sequencers",
    "items_begun": "items_begun",
    "items_done": "items_done",
}
_STR_KEYS = {
    "nonce": "nonce",
    "core_state": "core_state",
    "phase_check": "phase_check",
    "phase_report": "phase_report",
    "phase_final": "phase_final",
    "test": "test",
}


class ProbeReport(BaseModel):
    """What the probe wrote at the end of one run."""

    model_config = ConfigDict(extra="forbid")

    nonce: str
    core_state: str
    phase_check: str
    phase_report: str
    phase_final: str
    uvm_info: int = 0
    uvm_warning: int = 0
    uvm_error: int = 0
    uvm_fatal: int = 0
    test: str | None = None
    sequencers: int = 0
    items_begun: int = 0
    items_done: int = 0
    sequences: dict[str, int] = Field(default_factory=dict)  # type name -> times started

    @property
    def finished_by_uvm(self) -> bool:
        """run_test() came back normally: every phase ran, the summary was printed, UVM called $finish."""
        return self.core_state == "UVM_CORE_FINISHED"

    def problems(self) -> list[str]:
        out = []
        if not self.finished_by_uvm:
            out.append(f"UVM did not finish the test normally (core state {self.core_state})")
        not_done = [
            name
            for name, state in (("check", self.phase_check), ("report", self.phase_report), ("final", self.phase_final))
            if state != "UVM_PHASE_DONE"
        ]
        if not_done:
            out.append(f"the {'/'.join(not_done)} phase{'s' if len(not_done) > 1 else ''} did not run")
        return out


class ProbeError(ValueError):
    """The probe file is missing or was not written by the probe."""


def probe_source() -> Path:
    """The probe's SystemVerilog, from the installed package."""
    return Path(str(resources.files("dvsmith.sim").joinpath("data", "dvsmith_probe.sv")))


def bind_source(top: str) -> Path:
    """A one-line file binding the probe into ``top`` (content-addressed in the sim cache)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", top):
        raise ValueError(f"not a module name: {top!r}")
    text = f"// dvsmith grader probe, bound into the top module\nbind {top} {PROBE_MODULE} {PROBE_MODULE}_i();\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = paths.sim_cache_dir() / "config" / f"dvsmith_probe_bind_{digest}.sv"
    if not path.is_file():
        paths.atomic_write_text(path, text)
    return path


def new_probe_target(run_dir: Path, stem: str) -> tuple[Path, str]:
    """A fresh file name and nonce for one run: nothing in the run can know them in advance."""
    nonce = secrets.token_hex(12)
    return run_dir / f"{stem}.probe-{secrets.token_hex(6)}.txt", nonce


def probe_plusargs(target: Path, nonce: str) -> list[str]:
    return [f"+dvsmith_probe={target}", f"+dvsmith_probe_nonce={nonce}"]


def read_probe(path: Path, nonce: str) -> ProbeReport:
    """Parse a probe file strictly: every key once, known keys only, the run's nonce, ``end`` last."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProbeError("the run left no grader probe report (it did not reach the end of the simulation)") from exc
    if len(raw) > 1_000_000:
        raise ProbeError("the grader probe report is too large")
    lines = raw.decode("ascii", errors="replace").splitlines()
    if not lines or lines[0] != PROBE_FORMAT or lines[-1] != "end":
        raise ProbeError("the grader probe report is incomplete")
    fields: dict[str, object] = {}
    sequences: dict[str, int] = {}
    for line in lines[1:-1]:
        key, _, value = line.partition(" ")
        if key == "seq":
            count, _, name = value.partition(" ")
            if not count.isdigit() or not _NAME.match(name) or name in sequences:
                raise ProbeError("the grader probe report is malformed")
            sequences[name] = int(count)
            continue
        if key in _INT_KEYS:
            if not value.isdigit():
                raise ProbeError("the grader probe report is malformed")
            target, parsed = _INT_KEYS[key], int(value)
        elif key in _STR_KEYS:
            target, parsed = _STR_KEYS[key], value
        else:
            raise ProbeError("the grader probe report is malformed")
        if target in fields:
            raise ProbeError("the grader probe report is malformed")
        fields[target] = parsed
    if fields.get("test") == "-":
        fields["test"] = None
    try:
        report = ProbeReport.model_validate({**fields, "sequences": sequences})
    except ValidationError as exc:
        raise ProbeError("the grader probe report is incomplete") from exc
    if not secrets.compare_digest(report.nonce, nonce):
        raise ProbeError("the grader probe report is not this run's")
    return report


def probe_reasons(
    report: ProbeReport | None,
    error: str | None,
    *,
    test_name: str,
    required_sequences: list[str] | None = None,
    min_items_done: int = 0,
    max_uvm_errors: int = 0,
    max_uvm_fatals: int = 0,
) -> list[str]:
    """Why a run fails the health gate by the probe's account (empty when it passes)."""
    if report is None:
        return [error or "the run left no grader probe report"]
    reasons = report.problems()
    if report.test is None:
        reasons.append("no test was created by UVM")
    elif report.test != test_name:
        reasons.append(f"the test that ran was {report.test!r}, not {test_name!r}")
    if report.uvm_error > max_uvm_errors:
        reasons.append(f"the report server counted {report.uvm_error} UVM_ERROR (allowed {max_uvm_errors})")
    if report.uvm_fatal > max_uvm_fatals:
        reasons.append(f"the report server counted {report.uvm_fatal} UVM_FATAL (allowed {max_uvm_fatals})")
    missing = [s for s in (required_sequences or []) if report.sequences.get(s, 0) == 0]
    if missing:
        reasons.append(f"sequence{'s' if len(missing) > 1 else ''} never started on a sequencer: {', '.join(missing)}")
    if min_items_done > 0 and report.items_done < min_items_done:
        reasons.append(
            f"no sequence item went through a sequencer to a driver ({report.items_done} finished; the reference "
            f"finished at least {min_items_done})"
        )
    return reasons
