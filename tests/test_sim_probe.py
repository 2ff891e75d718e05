"""The grader probe's report (sim/probe.py): parsed strictly, so only the probe's own file counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvsmith.gym.health import probe_acceptance
from dvsmith.gym.models import Acceptance, Task
from dvsmith.sim.base import RunResult
from dvsmith.sim.probe import ProbeError, bind_source, probe_reasons, read_probe
from dvsmith.sim.uvmlog import LogHealth

GOOD = """dvsmith-probe 1
nonce abc123
core_state UVM_CORE_FINISHED
phase_check UVM_PHASE_DONE
phase_report UVM_PHASE_DONE
phase_final UVM_PHASE_DONE
count_info 12
count_warning 1
count_error 0
count_fatal 0
test fill_test
sequencers 1
items_begun 16
items_done 16
seq 1 fill_seq
seq 2 drain_seq
end
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "run.probe.txt"
    p.write_text(text)
    return p


def test_good_report_parses(tmp_path: Path) -> None:
    r = read_probe(write(tmp_path, GOOD), "abc123")
    assert r.finished_by_uvm and r.problems() == []
    assert r.sequences == {"fill_seq": 1, "drain_seq": 2} and r.items_done == 16 and r.test == "fill_test"
    assert probe_reasons(r, None, test_name="fill_test", required_sequences=["fill_seq"], min_items_done=1) == []


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (GOOD.replace("nonce abc123", "nonce other"), "not this run's"),
        (GOOD.replace("end\n", ""), "incomplete"),
        (GOOD.replace("count_error 0\n", "count_error 0\ncount_error 0\n"), "malformed"),  # a key twice
        (GOOD.replace("seq 1 fill_seq\n", "seq 1 fill_seq\nseq 9 fill_seq\n"), "malformed"),
        (GOOD.replace("seq 1 fill_seq", 'seq 1 x"y'), "malformed"),
        (GOOD.replace("count_info 12\n", "count_info 12\nbogus 1\n"), "malformed"),
        (GOOD.replace("count_fatal 0\n", ""), None),  # counts default to 0; still parses
        (GOOD.replace("core_state UVM_CORE_FINISHED\n", ""), "incomplete"),
        ("", "incomplete"),
    ],
)
def test_forged_or_broken_reports_are_refused(tmp_path: Path, text: str, why: str | None) -> None:
    path = write(tmp_path, text)
    if why is None:
        read_probe(path, "abc123")
        return
    with pytest.raises(ProbeError, match=why):
        read_probe(path, "abc123")


def test_missing_report_is_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no grader probe report"):
        read_probe(tmp_path / "nothing.txt", "abc")
    assert probe_reasons(None, "the run left no grader probe report", test_name="t") == [
        "the run left no grader probe report"
    ]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (("core_state UVM_CORE_FINISHED", "core_state UVM_CORE_RUNNING"), "did not finish the test normally"),
        (("phase_check UVM_PHASE_DONE", "phase_check UVM_PHASE_DORMANT"), "check phase did not run"),
        (("count_error 0", "count_error 2"), "counted 2 UVM_ERROR"),
        (("test fill_test", "test other_test"), "not 'fill_test'"),
        (("seq 1 fill_seq\n", ""), "never started on a sequencer: fill_seq"),
        (("items_done 16", "items_done 0"), "no sequence item went through a sequencer"),
    ],
)
def test_unhealthy_runs_by_the_probe(tmp_path: Path, edit: tuple[str, str], reason: str) -> None:
    r = read_probe(write(tmp_path, GOOD.replace(*edit)), "abc123")
    reasons = probe_reasons(r, None, test_name="fill_test", required_sequences=["fill_seq"], min_items_done=1)
    assert any(reason in x for x in reasons), reasons


def test_acceptance_takes_what_the_reference_showed(tmp_path: Path) -> None:
    r = read_probe(write(tmp_path, GOOD), "abc123")
    run = RunResult(exit_code=0, timed_out=False, log=tmp_path / "x.log", wall_s=0.1, health=LogHealth(), probe=r)
    task = Task(id="t", test_name="fill_test", title="t", difficulty="easy", difficulty_reason="", description="",
                goal="", hints=[], sequences=["fill_seq", "never_seen_seq"], removed_classes=["drain_seq"])  # fmt: skip
    acc = Acceptance()
    probe_acceptance(acc, run, task)
    assert acc.require_probe and acc.min_items_done == 1
    assert acc.required_sequences == ["drain_seq", "fill_seq"]  # named by the task and seen in the reference


def test_bind_source_refuses_odd_names() -> None:
    with pytest.raises(ValueError):
        bind_source("top; initial $system(1)")
    assert "bind tb_top dvsmith_probe" in bind_source("tb_top").read_text()
