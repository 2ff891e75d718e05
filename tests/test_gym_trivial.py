"""The runtime half of the trivial check, without a simulator: judge_against_base on fake run results,
and the build's simulation phase end to end with a fake simulator adapter (no compile, no Verilator)."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from dvsmith.analysis.ingest import analyze_repo
from dvsmith.gym.models import Acceptance, CoverageTarget
from dvsmith.gym.trivial import base_test_for, coverage_over_base, judge_against_base
from dvsmith.sim.base import CompileRequest, CompileResult, RunRequest, RunResult, SimulatorAdapter
from dvsmith.sim.coverage import CoverageSummary, MetricCount
from dvsmith.sim.uvmlog import LogHealth, parse_uvm_log

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
UVM = "/u/uvm/src"


def _log(test: str, errors: int = 0) -> str:
    return (
        f"UVM_INFO @ 0: reporter [RNTST] Running test {test}...\n"
        f"UVM_INFO {UVM}/base/uvm_report_server.svh(864) @ 30: reporter [UVM/REPORT/SERVER] \n"
        f"--- UVM Report Summary ---\n\n** Report counts by severity\nUVM_INFO :    3\nUVM_WARNING :    0\n"
        f"UVM_ERROR :    {errors}\nUVM_FATAL :    0\n"
        f"- {UVM}/base/uvm_root.svh:585: Verilog $finish\n- Verilator: $finish at 30ps; walltime 1 s\n"
    )


def _health(test: str, errors: int = 0) -> LogHealth:
    return parse_uvm_log(_log(test, errors), test)


def _cov(line: float, toggle: float = 50.0, file: str = "rtl/dut.sv") -> CoverageSummary:
    per = {"line": MetricCount(covered=int(line), total=100), "toggle": MetricCount(covered=int(toggle), total=100)}
    return CoverageSummary(metrics=per, files={file: per})


def _acc(line: float = 90.0, toggle: float = 60.0) -> Acceptance:
    return Acceptance(coverage=[
        CoverageTarget(metric="line", oracle=line / 0.9, target=line),
        CoverageTarget(metric="toggle", oracle=toggle / 0.9, target=toggle),
    ])


def test_base_reaching_every_target_is_trivial() -> None:
    v = judge_against_base(base_test="b", acceptance=_acc(70, 40), base_health=_health("b"),
                           base_coverage=_cov(75, 45), oracle_coverage=_cov(80, 50))
    assert v.trivial and v.base_passed_gate and "reaches every coverage target" in (v.reason or "")
    assert v.coverage_over_base == {"line": 5.0, "toggle": 5.0}


def test_base_below_a_target_is_not_trivial() -> None:
    v = judge_against_base(base_test="b", acceptance=_acc(70, 40), base_health=_health("b"),
                           base_coverage=_cov(75, 30), oracle_coverage=_cov(80, 50))
    assert not v.trivial and "toggle" in (v.reason or "")
    assert v.coverage_over_base["toggle"] == 20.0


def test_failing_base_is_not_trivial_and_no_targets_is_unjudgeable() -> None:
    v = judge_against_base(base_test="b", acceptance=_acc(), base_health=_health("b", errors=2),
                           base_coverage=_cov(99, 99), oracle_coverage=_cov(80))
    assert not v.trivial and not v.base_passed_gate and "fails the gate" in (v.reason or "")
    u = judge_against_base(base_test="b", acceptance=Acceptance(), base_health=_health("b"),
                           base_coverage=None, oracle_coverage=None)
    assert u.trivial and (u.reason or "").startswith("unjudgeable")
    assert coverage_over_base(None, None) == {}
    assert coverage_over_base(_cov(40), None) == {"line": 40.0, "toggle": 50.0}


def test_base_test_for_walks_past_virtual_bases() -> None:
    prof, _ = analyze_repo(FIXTURES / "c_default_seq")
    tests = {t.name: t for t in prof.tests}
    assert base_test_for(tests["count_long_test"], prof)[0] == "count_up_test"
    name, why = base_test_for(tests["count_up_test"], prof)
    assert name is None and "cnt_base_test is virtual" in why


class FakeAdapter(SimulatorAdapter):
    """Compiles nothing; every run's coverage comes from ``lines`` by test name (the gym's binary knows
    no removed test: [INVTST])."""

    name = "verilator"

    def __init__(self, lines: dict[str, float]) -> None:
        self.lines = lines
        self.runs: list[tuple[str, str]] = []

    async def compile(self, req: CompileRequest, progress: object = None) -> CompileResult:
        req.work_dir.mkdir(parents=True, exist_ok=True)
        binary = req.work_dir / "simv"
        binary.write_text("")
        return CompileResult(ok=True, binary=binary, log=req.work_dir / "compile.log", seconds=0.0)

    async def run(self, req: RunRequest) -> RunResult:
        req.work_dir.mkdir(parents=True, exist_ok=True)
        log = req.work_dir / "sim.log"
        gym = "gym-" in str(req.binary)
        self.runs.append(("gym" if gym else "original", req.test))
        if gym and req.test in self.lines:
            text = f"UVM_FATAL @ 0: reporter [INVTST] Requested test +UVM_TESTNAME={req.test} not found\n"
            health = parse_uvm_log(text, req.test)
            log.write_text(text)
            return RunResult(exit_code=1, timed_out=False, log=log, wall_s=0.0, health=health)
        log.write_text(_log(req.test))
        return RunResult(exit_code=0, timed_out=False, log=log, wall_s=0.0, health=_health(req.test),
                         coverage=_cov(self.lines.get(req.test, 10.0), file="rtl/counter.sv"))



@pytest.mark.parametrize("keep", [False, True])
async def test_simulation_phase_flags_a_task_its_base_already_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep: bool
) -> None:
    from dvsmith.analysis.ingest import ingest
    from dvsmith.gym import validate
    from dvsmith.gym.build import BuildOptions, run_build
    from dvsmith.sim import toolchain

    repo = tmp_path / "c"
    shutil.copytree(FIXTURES / "c_default_seq", repo)
    # count_long_test reaches what count_up_test (its base) reaches: trivial at run time
    fake = FakeAdapter({"count_up_test": 80.0, "count_long_test": 80.0, "count_load_test": 90.0,
                        "default_seq_test": 95.0})
    monkeypatch.setattr(validate, "get_adapter", lambda *a, **k: fake)
    monkeypatch.setattr(toolchain, "resolve_toolchain", lambda *a, **k: None)
    ingest(repo, name="c")
    out = tmp_path / "out"
    report = await run_build(BuildOptions(name="c", out=out, provider="offline", sim="verilator", keep_trivial=keep))

    assert report.sim is not None and report.sim.base_runs == 3  # count_up_test's base is virtual: not run
    assert ("original", "count_up_test") in fake.runs
    status = {s.id: s for s in report.tasks}
    assert ("count_long_test" in status) is keep  # left out: no status, no task folder, listed as skipped
    assert not status["count_load_test"].trivial
    if keep:
        assert status["count_long_test"].trivial
    assert status["count_load_test"].base is not None and status["count_load_test"].base.passed

    load = orjson.loads((out / "tasks/count_load_test/task.json").read_bytes())
    assert load["coverage_over_base"]["line"] == pytest.approx(10.0)
    assert load["difficulty_features"]["coverage_over_base_max"] == pytest.approx(10.0)
    assert not load["trivial"]
    up = orjson.loads((out / "tasks/count_up_test/task.json").read_bytes())
    assert up["coverage_over_base"] is None
    assert any("trivial check not run" in n for n in up["acceptance"]["notes"])

    long_dir = out / "tasks/count_long_test"
    if keep:
        t = orjson.loads((long_dir / "task.json").read_bytes())
        assert t["trivial"] and "reaches every coverage target" in t["trivial_reason"]
        assert report.skipped_trivial == []
    else:
        assert not long_dir.exists() and not (out / "oracle/count_long_test").exists()
        assert [(s["id"], s["when"]) for s in report.skipped_trivial] == [("count_long_test", "simulation")]


class HangingReferenceAdapter(FakeAdapter):
    """As FakeAdapter, but one test's reference run is killed by the run timeout."""

    def __init__(self, lines: dict[str, float], hangs: str) -> None:
        super().__init__(lines)
        self.hangs = hangs

    async def run(self, req: RunRequest) -> RunResult:
        if req.test == self.hangs and "gym-" not in str(req.binary):
            self.runs.append(("original", req.test))
            req.work_dir.mkdir(parents=True, exist_ok=True)
            log = req.work_dir / "sim.log"
            log.write_text("UVM_INFO @ 0: reporter [RNTST] Running test ...\n")
            return RunResult(exit_code=None, timed_out=True, log=log, wall_s=req.timeout_s,
                             health=parse_uvm_log(log.read_text(), req.test))  # fmt: skip
        return await super().run(req)


async def test_a_reference_that_times_out_gets_no_nop_or_trivial_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of those runs would hang as long as the reference (minutes), and cannot make the task valid."""
    from dvsmith.analysis.ingest import ingest
    from dvsmith.gym import validate
    from dvsmith.gym.build import BuildOptions, run_build
    from dvsmith.sim import toolchain

    repo = tmp_path / "c"
    shutil.copytree(FIXTURES / "c_default_seq", repo)
    fake = HangingReferenceAdapter({"count_up_test": 80.0, "count_load_test": 90.0, "default_seq_test": 95.0},
                                   hangs="count_load_test")  # fmt: skip
    monkeypatch.setattr(validate, "get_adapter", lambda *a, **k: fake)
    monkeypatch.setattr(toolchain, "resolve_toolchain", lambda *a, **k: None)
    ingest(repo, name="c")
    report = await run_build(BuildOptions(name="c", out=tmp_path / "out", provider="offline", sim="verilator",
                                          keep_trivial=True))  # fmt: skip
    status = {s.id: s for s in report.tasks}
    hung = status["count_load_test"]
    assert not hung.valid and hung.nop is None and hung.base is None
    assert "the reference test fails" in (hung.invalid_reason or "")
    assert "nop and trivial checks were not run" in (hung.invalid_reason or "")
    assert fake.runs.count(("original", "count_load_test")) == 1  # the oracle only
    assert ("gym", "count_load_test") not in fake.runs
    assert status["count_up_test"].nop is not None  # the others are checked as always
    assert report.sim is not None and report.sim.nop_runs == len(status) - 1
