"""Bad input: one line on stderr, exit code 2, never a traceback. Every command has --help."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.simkit import dvsmith

COMMANDS = [
    [],
    ["ingest"],
    ["build"],
    ["validate"],
    ["eval"],
    ["profiles"],
    ["profiles", "list"],
    ["profiles", "show"],
    ["profiles", "rm"],
    ["cache"],
    ["cache", "info"],
    ["cache", "clear"],
    ["ai-logs"],
    ["doctor"],
]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert needle in lines[0].lower(), lines[0]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_on_every_command(cmd: list[str]) -> None:
    proc = dvsmith(*cmd, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout


def test_version() -> None:
    proc = dvsmith("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("dvsmith ")


def test_missing_repo(tmp_path: Path) -> None:
    assert_one_line_error(dvsmith("ingest", str(tmp_path / "nope")), "not")


def test_file_instead_of_folder(tmp_path: Path) -> None:
    f = tmp_path / "a.sv"
    f.write_text("module m; endmodule\n")
    assert_one_line_error(dvsmith("ingest", str(f)), "folder")


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert_one_line_error(dvsmith("ingest", str(tmp_path / "empty")), "empty")


def test_no_systemverilog(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "README.md").write_text("hello\n")
    assert_one_line_error(dvsmith("ingest", str(tmp_path / "r")), "systemverilog")


def test_no_uvm_tests(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "m.sv").write_text("module m; endmodule\n")
    assert_one_line_error(dvsmith("ingest", str(tmp_path / "r")), "test")


def test_symlink_loop(tmp_path: Path) -> None:
    r = tmp_path / "r"
    (r / "a").mkdir(parents=True)
    (r / "a" / "loop").symlink_to(r, target_is_directory=True)
    (r / "a" / "m.sv").write_text("module m; endmodule\n")
    proc = dvsmith("ingest", str(r))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_unknown_profile() -> None:
    assert_one_line_error(dvsmith("profiles", "show", "no-such-profile"), "no-such-profile")


def test_build_without_profiles() -> None:
    proc = dvsmith("build")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_eval_not_a_gym(tmp_path: Path) -> None:
    sol = tmp_path / "s.sv"
    sol.write_text("class x; endclass\n")
    assert_one_line_error(dvsmith("eval", str(tmp_path), "some_task", str(sol)), "gym")


def test_unknown_provider_is_usage_error() -> None:
    proc = dvsmith("build", "--provider", "bogus")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
