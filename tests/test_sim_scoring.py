"""Scoring: the health gate, coverage against targets, and acceptance derived from an oracle run."""

from __future__ import annotations

from dvsmith.sim.acceptance import Acceptance, CoverageTarget
from dvsmith.sim.coverage import CoverageSummary, MetricCount
from dvsmith.sim.scoring import DEFAULT_WEIGHTS, derive_acceptance, score
from dvsmith.sim.uvmlog import LogHealth, parse_uvm_log

UVM = "/u/uvm/src"
START = "UVM_INFO @ 0: reporter [RNTST] Running test t1...\n"
FINISH = f"- {UVM}/base/uvm_root.svh:585: Verilog $finish\n- Verilator: $finish at 30ps; walltime 1 s\n"


def _summary(error: int = 0, fatal: int = 0) -> str:
    return (
        f"UVM_INFO {UVM}/base/uvm_report_server.svh(864) @ 30: reporter [UVM/REPORT/SERVER] \n"
        f"--- UVM Report Summary ---\n\n** Report counts by severity\nUVM_INFO :    3\nUVM_WARNING :    0\n"
        f"UVM_ERROR :    {error}\nUVM_FATAL :    {fatal}\n"
    )


def _cov(**pcts: tuple[int, int]) -> CoverageSummary:
    per = {m: MetricCount(covered=c, total=t) for m, (c, t) in pcts.items()}
    return CoverageSummary(metrics=per, files={"/r/dut.sv": per})


def _clean() -> LogHealth:
    return parse_uvm_log(START + _summary() + FINISH, "t1")


def _acc(**targets: float) -> Acceptance:
    return Acceptance(coverage=[CoverageTarget(metric=m, oracle=t / 0.9, target=t) for m, t in targets.items()])


def test_clean_run_meeting_targets_passes() -> None:
    r = score(_clean(), _cov(line=(90, 100), branch=(8, 10)), _acc(line=81.0, branch=72.0), "t1", exit_code=0)
    assert r.gate_passed and r.passed and r.score == 1.0
    assert r.reasons == []
    assert r.coverage_detail["line"]["ratio"] == 1.0


def test_partial_coverage_is_a_weighted_mean() -> None:
    acc = Acceptance(
        coverage=[
            CoverageTarget(metric="line", oracle=100, target=80, weight=1.0),
            CoverageTarget(metric="branch", oracle=100, target=80, weight=3.0),
        ]
    )
    r = score(_clean(), _cov(line=(40, 100), branch=(80, 100)), acc, "t1")
    assert abs(r.score - (1.0 * 0.5 + 3.0 * 1.0) / 4.0) < 1e-9
    assert r.gate_passed and not r.passed
    assert any("line coverage" in x for x in r.reasons)


def test_no_targets_scores_one() -> None:
    r = score(_clean(), None, Acceptance(), "t1")
    assert r.score == 1.0 and r.passed


def test_missing_coverage_with_targets_scores_zero_coverage() -> None:
    r = score(_clean(), None, _acc(line=50.0), "t1")
    assert r.gate_passed and r.score == 0.0 and not r.passed
    assert r.reasons[0] == "no coverage data was written"


def test_fake_summary_printed_by_test_does_not_pass() -> None:
    # The test reports an error, then prints a fake clean summary; the real summary (last) says 1 error.
    log = START + "UVM_ERROR t.sv(9) @ 20: uvm_test_top [X] bad\n" + _summary(0) + _summary(1) + FINISH
    r = score(parse_uvm_log(log, "t1"), _cov(line=(100, 100)), _acc(line=50.0), "t1")
    assert r.score == 0.0 and not r.passed and not r.gate_passed
    assert any("UVM_ERROR" in x for x in r.reasons)


def test_errors_with_only_a_fake_clean_summary_fail() -> None:
    log = START + "UVM_ERROR t.sv(9) @ 20: uvm_test_top [X] bad\n" + _summary(0) + "- /r/t.sv:40: Verilog $finish\n"
    health = parse_uvm_log(log, "t1")
    r = score(health, _cov(line=(100, 100)), Acceptance(require_uvm_finish=True), "t1")
    assert not r.passed and r.score == 0.0
    assert any("UVM_ERROR" in x for x in r.reasons)
    assert any("not by UVM" in x for x in r.reasons)


def test_invtst_fails() -> None:
    log = "UVM_FATAL @ 0: reporter [INVTST] Requested test from command line +UVM_TESTNAME=t1 not found.\n"
    r = score(parse_uvm_log(log + _summary(0, 1), "t1"), None, Acceptance(), "t1")
    assert not r.passed
    assert any("INVTST" in x for x in r.reasons)
    assert any("no test started" in x for x in r.reasons)


def test_other_test_ran() -> None:
    log = START.replace("t1", "t2") + _summary() + FINISH
    r = score(parse_uvm_log(log, "t1"), None, Acceptance(), "t1")
    assert not r.passed and any("'t2'" in x for x in r.reasons)


def test_timeout_fails() -> None:
    health = parse_uvm_log(START, "t1", process_timed_out=True)
    r = score(health, None, Acceptance(), "t1", exit_code=None)
    assert not r.passed
    assert any("time limit" in x for x in r.reasons)
    assert any("no UVM report summary" in x for x in r.reasons)


def test_no_summary_fails() -> None:
    r = score(parse_uvm_log(START, "t1"), _cov(line=(1, 1)), Acceptance(), "t1")
    assert not r.passed and r.reasons == ["no UVM report summary in the log: the simulation did not end normally"]


def test_simulator_error_and_exit_status_fail() -> None:
    log = START + "[20] %Error: dut.sv:3: Assertion failed in top.dut\n" + _summary() + FINISH
    r = score(parse_uvm_log(log, "t1"), None, Acceptance(), "t1", exit_code=1)
    assert not r.passed
    assert any("simulator error" in x for x in r.reasons)
    assert any("status 1" in x for x in r.reasons)


def test_allowed_error_budget() -> None:
    log = START + "UVM_ERROR t.sv(9) @ 20: uvm_test_top [X] bad\n" + _summary(1) + FINISH
    r = score(parse_uvm_log(log, "t1"), None, Acceptance(max_uvm_errors=1), "t1")
    assert r.passed


def test_pass_score_threshold_with_tolerance() -> None:
    acc = _acc(line=90.0)
    acc.pass_score = 0.5
    r = score(_clean(), _cov(line=(45, 100)), acc, "t1")
    assert r.score == 0.5 and r.passed


def test_functional_targets_ignored_when_unsupported() -> None:
    acc = Acceptance(coverage=[CoverageTarget(metric="functional", oracle=80, target=72)])
    r = score(_clean(), _cov(line=(1, 2)), acc, "t1")
    assert r.score == 1.0 and "functional" not in r.coverage_detail


def test_derive_acceptance_verilator() -> None:
    oracle = _cov(line=(80, 100), branch=(0, 10), toggle=(0, 0), user=(2, 4))
    oracle.metrics["functional"] = MetricCount(reported_percent=50.0)
    health = parse_uvm_log(START + _summary() + FINISH, "t1")
    acc = derive_acceptance(oracle, "verilator", oracle_health=health)
    got = {t.metric: t for t in acc.coverage}
    assert set(got) == {"line", "user"}  # branch 0%, toggle no points, functional unsupported
    assert got["line"].target == 72.0 and got["line"].oracle == 80.0
    assert got["user"].weight == DEFAULT_WEIGHTS["user"]
    assert acc.functional_coverage == "unsupported"
    assert acc.require_uvm_finish
    assert any("functional" in n for n in acc.notes)
    # the oracle itself passes its own acceptance
    assert score(health, oracle, acc, "t1").passed


def test_derive_acceptance_commercial_measures_functional() -> None:
    oracle = CoverageSummary(
        tool="questa",
        metrics={"statement": MetricCount(covered=9, total=10), "functional": MetricCount(reported_percent=60.0)},
        functional="measured",
    )
    acc = derive_acceptance(oracle, "questa", fraction=0.5)
    got = {t.metric: t.target for t in acc.coverage}
    assert got == {"statement": 45.0, "functional": 30.0}
    assert acc.functional_coverage == "measured"
    assert not acc.require_uvm_finish


def test_derive_acceptance_without_oracle() -> None:
    acc = derive_acceptance(None)
    assert acc.coverage == [] and acc.notes


def test_bare_summary_rejected_when_oracle_had_a_real_one() -> None:
    bare = "--- UVM Report Summary ---\n** Report counts by severity\nUVM_INFO :    1\nUVM_ERROR :    0\n"
    health = parse_uvm_log(START + bare, "t1")
    assert health.summary_found and not health.summary_trusted
    assert score(health, None, Acceptance(), "t1").passed  # UVM 1.1-style logs are accepted by default
    r = score(health, None, Acceptance(require_uvm_finish=True), "t1")
    assert not r.passed and any("report server" in x for x in r.reasons)
