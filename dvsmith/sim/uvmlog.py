"""UVM simulation log -> ``LogHealth``.

Health comes from the UVM report server, not from free text a test could print. The rules:

* Severity counts are read from the **last** report-server summary block, and only from a block that
  the report server itself introduced: the ``UVM_INFO <...>/uvm_report_server.svh(N) @ T: reporter
  [UVM/REPORT/SERVER]`` message immediately followed by ``--- UVM Report Summary ---``. UVM prints that
  block after every phase has ended, so anything a test prints during its phases comes before it; a
  summary faked with ``$display`` is therefore never the last one.
* The real ``UVM_ERROR``/``UVM_FATAL`` message lines (``UVM_ERROR <file>(<line>) @ <time>: ...``) are
  counted too, and each reported count is the maximum of the summary count and the counted lines, so
  a fake "clean" summary cannot hide errors that were really reported.
* The test that ran is the **first** ``[RNTST] Running test <name>...`` message: UVM prints it before
  any test code exists, so a test cannot print an earlier one.
* ``[INVTST]`` (unknown ``+UVM_TESTNAME``), ``[PH_TIMEOUT]`` (UVM phase timeout), the simulator's
  ``$finish`` report and simulator-level errors (Verilator ``%Error``/``%Fatal``, Questa ``** Error:``,
  Xcelium ``*E,``/``*F,``, VCS ``Error-[...]``) are recorded as well.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SEVERITIES = ("UVM_INFO", "UVM_WARNING", "UVM_ERROR", "UVM_FATAL")
_MAX_KEPT = 20  # message lines kept as examples in LogHealth

# UVM_ERROR /path/file.sv(12) @ 100: uvm_test_top.env [ID] text     (file part is optional)
_MSG_RE = re.compile(
    r"^(?P<sev>UVM_INFO|UVM_WARNING|UVM_ERROR|UVM_FATAL)"
    r"(?:\s+(?P<file>\S+)\((?P<line>\d+)\))?"
    r"\s+@\s+(?P<time>[^:]+?)\s*:\s+(?P<ctx>\S+)\s+\[(?P<id>[^\]]+)\]\s?(?P<text>.*)$"
)
_SERVER_HDR_RE = re.compile(
    r"^UVM_INFO\s+(?P<file>\S*uvm_report_server\.svh)\(\d+\)\s+@\s+(?P<time>[^:]+?)\s*:\s+reporter\s+"
    r"\[UVM/REPORT/SERVER\]"
)
# With +define+UVM_REPORT_DISABLE_FILE_LINE no message carries its file(line): the report server's header
# is then ``UVM_INFO @ T: reporter [UVM/REPORT/SERVER]``, trusted only when no UVM message of the log has a
# file part (a log of that build); a forged summary is caught by the grader probe's counts anyway.
_SERVER_HDR_NOFILE_RE = re.compile(r"^UVM_INFO\s+@\s+(?P<time>[^:]+?)\s*:\s+reporter\s+\[UVM/REPORT/SERVER\]")
_SUMMARY_TITLE = "--- UVM Report Summary ---"
_SUMMARY_COUNT_RE = re.compile(r"^(?P<sev>UVM_INFO|UVM_WARNING|UVM_ERROR|UVM_FATAL)\s*:\s*(?P<n>\d+)\s*$")
_SUMMARY_ID_RE = re.compile(r"^\[(?P<id>[^\]]+)\]\s+(?P<n>\d+)\s*$")
_SUMMARY_SECTION_RE = re.compile(r"^\*\*\s*Report counts by (severity|id)\s*$")
_RNTST_RE = re.compile(r"\[RNTST\]\s+Running test\s+(?P<name>[A-Za-z_][\w$]*)")
_INVTST_RE = re.compile(r"\[INVTST\]")
_PH_TIMEOUT_RE = re.compile(r"\[PH_TIMEOUT\]")

# Simulator-level errors, per tool (after the Questa "# " prefix is removed).
_SIM_ERROR_RES: dict[str, list[re.Pattern[str]]] = {
    "verilator": [re.compile(r"^(?:\[[^\]]*\]\s*)?%(?:Error|Fatal)\b")],
    "questa": [re.compile(r"^\*\* (?:Error|Fatal)\b")],
    "xcelium": [re.compile(r"^(?:\w+:\s*)?\*[EF],\w+")],
    "vcs": [re.compile(r"^(?:Error|Fatal)-\["), re.compile(r'^(?:Error|Fatal): "')],
}
# Where the simulation finished and at what time.
_FINISH_RES: dict[str, re.Pattern[str]] = {
    # - /uvm/src/base/uvm_root.svh:585: Verilog $finish
    "verilator": re.compile(r"^- (?P<file>\S+?):(?P<line>\d+): Verilog \$finish"),
    # ** Note: $finish    : /uvm/src/base/uvm_root.svh(517)
    "questa": re.compile(r"^\*\* Note: \$finish\s*:\s*(?P<file>\S+?)\((?P<line>\d+)\)"),
    # Simulation complete via $finish(1) at time 1234 NS + 0  (the file is on the next line)
    "xcelium": re.compile(r"^Simulation complete via \$finish\(\d\)"),
    # $finish called from file "/uvm/src/base/uvm_root.svh", line 517.
    "vcs": re.compile(r'^\$finish called from file "(?P<file>[^"]+)", line (?P<line>\d+)'),
}
_TIME_RES: dict[str, re.Pattern[str]] = {
    "verilator": re.compile(r"^- Verilator: \$finish at (?P<t>\S+?);"),
    "questa": re.compile(r"^\s*Time: (?P<t>\d+ \w+)\s+Iteration"),
    "xcelium": re.compile(r"^Simulation complete via \$finish\(\d\) at time (?P<t>\d+ \w+)"),
    "vcs": re.compile(r"^\$finish at simulation time\s+(?P<t>\d+\s*\w*)"),
}


class LogHealth(BaseModel):
    """What a simulation log says about the run. Counts are ``None`` when nothing could be read."""

    model_config = ConfigDict(extra="ignore")

    tool: str = "verilator"
    summary_found: bool = False
    summary_trusted: bool = False  # introduced by the report server's own [UVM/REPORT/SERVER] message
    summary_counts: dict[str, int] = Field(default_factory=dict)  # severity -> count, last real summary
    summary_ids: dict[str, int] = Field(default_factory=dict)  # message id -> count, last real summary
    message_counts: dict[str, int] = Field(default_factory=dict)  # severity -> message lines counted
    uvm_info: int | None = None
    uvm_warning: int | None = None
    uvm_error: int | None = None
    uvm_fatal: int | None = None
    test_started: bool = False
    test_name: str | None = None  # from the first [RNTST] message
    requested_test: str | None = None
    requested_test_found: bool | None = None  # None when no test name was requested
    invalid_test: bool = False  # UVM_FATAL [INVTST]
    uvm_timeout: bool = False  # [PH_TIMEOUT]
    process_timeout: bool = False  # our own wall-clock limit killed the process
    finish_reached: bool = False
    finish_file: str | None = None  # file whose $finish ended the run (UVM's uvm_root.svh normally)
    sim_time: str | None = None
    last_report_time: str | None = None  # the "@ T" of the log's last UVM report (where a hung run stopped)
    sim_errors: list[str] = Field(default_factory=list)  # simulator-level error lines (first few)
    sim_error_count: int = 0
    solver_errors: list[str] = Field(default_factory=list)  # z3's error replies to Verilator (sim/solver.py)
    errors: list[str] = Field(default_factory=list)  # first UVM_ERROR / UVM_FATAL lines

    @property
    def timed_out(self) -> bool:
        return self.uvm_timeout or self.process_timeout

    @property
    def finished_by_uvm(self) -> bool:
        return self.finish_file is not None and self.finish_file.endswith("uvm_root.svh")


def _strip(line: str, tool: str) -> str:
    line = line.rstrip("\r\n")
    if tool == "questa" and line.startswith("#"):
        line = line[2:] if line.startswith("# ") else line[1:]
    return line


def _parse_summary(lines: list[str], start: int) -> tuple[dict[str, int], dict[str, int]]:
    """Counts of the summary block whose title is at or after ``start``."""
    counts: dict[str, int] = {}
    ids: dict[str, int] = {}
    i = start
    while i < len(lines) and lines[i].strip() != _SUMMARY_TITLE:
        i += 1
    i += 1
    while i < len(lines):
        text = lines[i].strip()
        if not text or _SUMMARY_SECTION_RE.match(text):
            i += 1
            continue
        m = _SUMMARY_COUNT_RE.match(text)
        if m:
            counts[m["sev"]] = int(m["n"])
            i += 1
            continue
        m = _SUMMARY_ID_RE.match(text)
        if m and counts:
            ids[m["id"]] = int(m["n"])
            i += 1
            continue
        break
    return counts, ids


def _next_text(lines: list[str], i: int, limit: int = 3) -> str:
    for j in range(i + 1, min(len(lines), i + 1 + limit)):
        if lines[j].strip():
            return lines[j].strip()
    return ""


def parse_uvm_log(
    text: str,
    requested_test: str | None = None,
    *,
    tool: str = "verilator",
    process_timed_out: bool = False,
    stderr_text: str = "",
) -> LogHealth:
    """Parse a UVM simulation log into ``LogHealth``.

    ``text`` is the simulator's standard output (where UVM reports). ``stderr_text``, when the run's
    standard error was kept apart, is searched for error lines only: a summary or a "Running test"
    line there is ignored, since a test can write to STDERR at any time.
    """
    lines = [_strip(raw, tool) for raw in text.splitlines()]
    health = LogHealth(tool=tool, requested_test=requested_test, process_timeout=process_timed_out)
    msg_counts = dict.fromkeys(SEVERITIES, 0)
    sim_error_res = _SIM_ERROR_RES.get(tool, [])
    finish_re = _FINISH_RES.get(tool)
    time_re = _TIME_RES.get(tool)
    trusted_hdr: int | None = None
    bare_title: int | None = None
    nofile_hdr: int | None = None  # a file-less server header (UVM_REPORT_DISABLE_FILE_LINE)
    any_file_part = False

    for i, line in enumerate(lines):
        m = _MSG_RE.match(line)
        if m:
            sev = m["sev"]
            health.last_report_time = m["time"].strip()
            any_file_part = any_file_part or m["file"] is not None
            is_server_hdr = bool(_SERVER_HDR_RE.match(line))
            is_nofile_hdr = not is_server_hdr and bool(_SERVER_HDR_NOFILE_RE.match(line))
            if not (is_server_hdr or is_nofile_hdr):  # the summary's own header is not counted in the summary
                msg_counts[sev] += 1
            if sev in ("UVM_ERROR", "UVM_FATAL") and len(health.errors) < _MAX_KEPT:
                health.errors.append(line.strip()[:400])
            if is_server_hdr and _next_text(lines, i) == _SUMMARY_TITLE:
                trusted_hdr = i
            if is_nofile_hdr and _next_text(lines, i) == _SUMMARY_TITLE:
                nofile_hdr = i
            if m["id"] == "RNTST" and health.test_name is None:
                rn = _RNTST_RE.search(line)
                if rn:
                    health.test_started = True
                    health.test_name = rn["name"]
            if m["id"] == "INVTST" and sev == "UVM_FATAL":
                health.invalid_test = True
            if m["id"] == "PH_TIMEOUT" and sev == "UVM_FATAL":
                health.uvm_timeout = True
            continue
        stripped = line.strip()
        if stripped == _SUMMARY_TITLE:
            bare_title = i
            continue
        if any(r.match(stripped) for r in sim_error_res):
            health.sim_error_count += 1
            if len(health.sim_errors) < _MAX_KEPT:
                health.sim_errors.append(stripped[:400])
            continue
        if finish_re is not None:
            fm = finish_re.match(stripped)
            if fm:
                health.finish_reached = True
                file = fm.groupdict().get("file")
                if file is None and tool == "xcelium":
                    file = _xcelium_finish_file(lines, i)
                health.finish_file = file
        if time_re is not None:
            tm = time_re.match(line if tool == "questa" else stripped)
            if tm:
                health.sim_time = tm["t"].strip()

    for raw in stderr_text.splitlines():
        line = _strip(raw, tool)
        m = _MSG_RE.match(line)
        if m and m["sev"] in ("UVM_ERROR", "UVM_FATAL"):
            msg_counts[m["sev"]] += 1
            if len(health.errors) < _MAX_KEPT:
                health.errors.append(line.strip()[:400])
        elif any(r.match(line.strip()) for r in sim_error_res):
            health.sim_error_count += 1
            if len(health.sim_errors) < _MAX_KEPT:
                health.sim_errors.append(line.strip()[:400])

    health.message_counts = msg_counts
    if trusted_hdr is None and nofile_hdr is not None and not any_file_part:
        trusted_hdr = nofile_hdr
    if trusted_hdr is not None:
        counts, ids = _parse_summary(lines, trusted_hdr + 1)
        health.summary_found = bool(counts)
        health.summary_trusted = bool(counts)
    elif bare_title is not None:
        # UVM 1.1 prints the summary without the report-server message in front of it.
        counts, ids = _parse_summary(lines, bare_title)
        health.summary_found = bool(counts)
    else:
        counts, ids = {}, {}
    health.summary_counts = counts
    health.summary_ids = ids

    def merged(sev: str) -> int | None:
        if not health.summary_found and msg_counts[sev] == 0:
            return None
        return max(counts.get(sev, 0), msg_counts[sev])

    health.uvm_info = merged("UVM_INFO")
    health.uvm_warning = merged("UVM_WARNING")
    health.uvm_error = merged("UVM_ERROR")
    health.uvm_fatal = merged("UVM_FATAL")
    if requested_test is not None:
        health.requested_test_found = health.test_name == requested_test and not health.invalid_test
    return health


def _xcelium_finish_file(lines: list[str], i: int) -> str | None:
    # "File: /uvm/src/base/uvm_root.svh, line = 517, pos = 14" or "/uvm/src/base/uvm_root.svh:517  $finish;"
    m = re.match(r"^\s*(?:File:\s*)?(?P<f>[^\s,:]+)(?:,\s*line|:\d+)", _next_text(lines, i))
    return m["f"] if m else None


def parse_uvm_log_file(
    path: Path,
    requested_test: str | None = None,
    *,
    tool: str = "verilator",
    process_timed_out: bool = False,
    stderr_path: Path | None = None,
) -> LogHealth:
    """``parse_uvm_log`` on files (a missing file reads as empty: nothing found)."""
    return parse_uvm_log(
        _read(path),
        requested_test,
        tool=tool,
        process_timed_out=process_timed_out,
        stderr_text=_read(stderr_path) if stderr_path is not None else "",
    )


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
