"""UVM log parsing: report-server summary, fake summaries, test name, INVTST, timeouts, tool errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvsmith.sim.uvmlog import parse_uvm_log, parse_uvm_log_file

DATA = Path(__file__).parent / "data"
UVM = "/home/u/uvm/src"


def _summary(info: int, warning: int, error: int, fatal: int, *, time: int = 100, header: bool = True) -> str:
    hdr = f"UVM_INFO {UVM}/base/uvm_report_server.svh(864) @ {time}: reporter [UVM/REPORT/SERVER] \n" if header else ""
    return (
        f"{hdr}--- UVM Report Summary ---\n\n** Report counts by severity\n"
        f"UVM_INFO :   {info}\nUVM_WARNING :   {warning}\nUVM_ERROR :   {error}\nUVM_FATAL :   {fatal}\n"
        "** Report counts by id\n[RNTST]     1\n"
    )


START = "UVM_INFO @ 0: reporter [RNTST] Running test my_test...\n"
FINISH = (
    f"- {UVM}/base/uvm_root.svh:585: Verilog $finish\n"
    "- S i m u l a t i o n   R e p o r t: Verilator 5.49\n"
    "- Verilator: $finish at 120ns; walltime 0.865 s; speed 34.734 ps/s\n"
)


def test_clean_run() -> None:
    log = START + "UVM_INFO t.sv(3) @ 5: uvm_test_top [X] hello\n" + _summary(2, 0, 0, 0) + FINISH
    h = parse_uvm_log(log, "my_test")
    assert h.summary_found and h.summary_trusted
    assert (h.uvm_info, h.uvm_warning, h.uvm_error, h.uvm_fatal) == (2, 0, 0, 0)
    assert h.test_started and h.test_name == "my_test" and h.requested_test_found is True
    assert h.finish_reached and h.finished_by_uvm
    assert h.sim_time == "120ns"
    assert not h.timed_out and not h.invalid_test
    assert h.summary_ids == {"RNTST": 1}


def test_last_real_summary_wins_over_fake_printed_before() -> None:
    fake = _summary(1, 0, 0, 0, time=50)  # printed by the test with $display during its phases
    log = START + "UVM_ERROR t.sv(9) @ 40: uvm_test_top [CHK] bad\n" + fake + _summary(3, 0, 1, 0) + FINISH
    h = parse_uvm_log(log, "my_test")
    assert h.summary_counts["UVM_ERROR"] == 1
    assert h.uvm_error == 1


def test_fake_clean_summary_cannot_hide_real_error_lines() -> None:
    # The real summary is missing (the test ended the run itself); only a fake clean one exists.
    log = (
        START
        + "UVM_ERROR t.sv(9) @ 40: uvm_test_top [CHK] bad\n"
        + "UVM_FATAL t.sv(9) @ 41: uvm_test_top [CHK] worse\n"
        + _summary(1, 0, 0, 0)
        + "- /repo/tb/my_test.sv:12: Verilog $finish\n"
    )
    h = parse_uvm_log(log, "my_test")
    assert h.uvm_error == 1 and h.uvm_fatal == 1
    assert h.finish_file == "/repo/tb/my_test.sv" and not h.finished_by_uvm
    assert len(h.errors) == 2


def test_summary_without_report_server_header_is_untrusted() -> None:
    h = parse_uvm_log(START + _summary(1, 0, 0, 0, header=False), "my_test")
    assert h.summary_found and not h.summary_trusted


def test_summary_header_from_the_right_file_only() -> None:
    bogus = "UVM_INFO t.sv(1) @ 5: reporter [UVM/REPORT/SERVER] \n" + _summary(1, 0, 0, 0, header=False)
    h = parse_uvm_log(START + bogus, "my_test")
    assert not h.summary_trusted  # found only as a bare block


def test_first_running_test_line_is_the_real_one() -> None:
    log = START + "UVM_INFO @ 10: reporter [RNTST] Running test other_test...\n" + _summary(2, 0, 0, 0)
    h = parse_uvm_log(log, "other_test")
    assert h.test_name == "my_test"
    assert h.requested_test_found is False


def test_invtst() -> None:
    log = (
        "UVM_FATAL @ 0: reporter [INVTST] Requested test from command line +UVM_TESTNAME=nope not found.\n"
        + _summary(1, 0, 0, 1)
    )
    h = parse_uvm_log(log, "nope")
    assert h.invalid_test and not h.test_started
    assert h.uvm_fatal == 1 and h.requested_test_found is False


def test_phase_timeout_and_process_timeout() -> None:
    log = START + "UVM_FATAL /u/uvm_phase.svh(1491) @ 9200: reporter [PH_TIMEOUT] Default timeout hit\n"
    h = parse_uvm_log(log + _summary(1, 0, 0, 1), "my_test")
    assert h.uvm_timeout and h.timed_out
    h2 = parse_uvm_log(START, "my_test", process_timed_out=True)
    assert h2.process_timeout and h2.timed_out and not h2.summary_found
    assert h2.uvm_error is None  # nothing to count from
    from dvsmith.gym.models import Acceptance
    from dvsmith.sim.scoring import health_reasons

    (why,) = [r for r in health_reasons(h2, Acceptance(), "my_test") if "killed" in r]
    assert why.endswith("(its last UVM report was at simulation time 0)") and h2.last_report_time == "0"


def test_no_summary() -> None:
    h = parse_uvm_log(START + "%Error: t.sv:3: something broke\n", "my_test")
    assert not h.summary_found
    assert h.sim_error_count == 1 and h.sim_errors[0].startswith("%Error")


def test_verilator_runtime_errors() -> None:
    log = START + "[40] %Error: counter.sv:20: Assertion failed in top.dut\n" + _summary(1, 0, 0, 0) + FINISH
    h = parse_uvm_log(log, "my_test")
    assert h.sim_error_count == 1
    assert h.uvm_error == 0


def test_stderr_is_searched_for_errors_but_never_for_a_summary() -> None:
    stdout = START + "UVM_ERROR t.sv(9) @ 40: uvm_test_top [CHK] bad\n" + _summary(3, 0, 1, 0) + FINISH
    stderr = _summary(1, 0, 0, 0, time=200) + "%Error: foo\n"
    h = parse_uvm_log(stdout, "my_test", stderr_text=stderr)
    assert h.summary_counts["UVM_ERROR"] == 1
    assert h.uvm_error == 1
    assert h.sim_error_count == 1


def test_questa_transcript() -> None:
    h = parse_uvm_log_file(DATA / "sim" / "questa" / "transcript.log", "smoke_pass_test", tool="questa")
    assert h.summary_trusted and h.uvm_error == 1 and h.uvm_info == 3
    assert h.test_name == "smoke_pass_test"
    assert h.sim_error_count == 1 and h.sim_errors[0].startswith("** Error")
    assert h.finished_by_uvm and h.sim_time == "215 ns"


def test_xcelium_log() -> None:
    h = parse_uvm_log_file(DATA / "sim" / "xcelium" / "xrun.log", "smoke_pass_test", tool="xcelium")
    assert h.summary_trusted and h.uvm_error == 0
    assert h.sim_error_count == 1 and "*E,ASRTST" in h.sim_errors[0]
    assert h.finished_by_uvm and h.sim_time == "215 NS"


def test_vcs_log_with_fake_summary() -> None:
    h = parse_uvm_log_file(DATA / "sim" / "vcs" / "simv.log", "smoke_fake_test", tool="vcs")
    assert h.summary_counts["UVM_ERROR"] == 1  # the last (real) summary
    assert h.uvm_error == 1
    assert h.sim_error_count == 1 and h.sim_errors[0].startswith("Error-[STASKE_DIVZ]")
    assert h.finished_by_uvm and h.sim_time == "215"


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    h = parse_uvm_log_file(tmp_path / "none.log", "t")
    assert not h.summary_found and not h.test_started


VERILATOR_LOGS = sorted((DATA / "verilator").glob("**/*.log")) if (DATA / "verilator").is_dir() else []


@pytest.mark.parametrize("log", VERILATOR_LOGS, ids=[p.name for p in VERILATOR_LOGS])
def test_recorded_verilator_logs_parse(log: Path) -> None:
    """Real logs recorded by the fixtures engineer: a log with a summary has consistent counts."""
    h = parse_uvm_log_file(log)
    if h.summary_found:
        assert h.uvm_error is not None and h.uvm_error >= h.summary_counts.get("UVM_ERROR", 0)
        assert h.uvm_fatal is not None and h.uvm_fatal >= h.summary_counts.get("UVM_FATAL", 0)


REC = DATA / "verilator"


@pytest.mark.skipif(not (REC / "pass_write_read_test.log").is_file(), reason="recorded log not present")
def test_recorded_passing_run() -> None:
    h = parse_uvm_log_file(REC / "pass_write_read_test.log", "write_read_test")
    assert h.summary_trusted and h.requested_test_found
    assert h.uvm_error == 0 and h.uvm_fatal == 0 and h.uvm_warning == 40
    assert h.finished_by_uvm and h.sim_time == "165ps"


@pytest.mark.skipif(not (REC / "unknown_test_invtst.log").is_file(), reason="recorded log not present")
def test_recorded_invtst_run() -> None:
    h = parse_uvm_log_file(REC / "unknown_test_invtst.log", "nope_test")
    assert h.invalid_test and not h.test_started and h.requested_test_found is False
    assert h.uvm_fatal is not None and h.uvm_fatal >= 1


_NOFILE_LOG = """UVM_INFO @ 0: reporter [RNTST] Running test data_test...
UVM_INFO @ 10: uvm_test_top [data_test] sent 4 items
UVM_INFO @ 20: reporter [UVM/REPORT/SERVER]
--- UVM Report Summary ---

** Report counts by severity
UVM_INFO :    3
UVM_WARNING :    0
UVM_ERROR :    0
UVM_FATAL :    0
** Report counts by id
[RNTST]     1
[data_test]     1
"""


def test_summary_without_file_and_line_is_the_report_servers() -> None:
    """+define+UVM_REPORT_DISABLE_FILE_LINE (a Verilator-native bench's Makefile sets it): no message has
    its file(line), the report server's header neither; that summary is the real one."""
    h = parse_uvm_log(_NOFILE_LOG, "data_test")
    assert h.summary_found and h.summary_trusted
    assert h.uvm_error == 0 and h.test_name == "data_test"


def test_file_less_summary_header_in_a_log_with_file_parts_is_not_trusted() -> None:
    forged = _NOFILE_LOG.replace(
        "UVM_INFO @ 10: uvm_test_top [data_test]", "UVM_INFO tb/t.sv(9) @ 10: uvm_test_top [data_test]"
    )
    h = parse_uvm_log(forged, "data_test")
    assert not h.summary_trusted  # a $display'd summary in a log whose messages carry file(line)
