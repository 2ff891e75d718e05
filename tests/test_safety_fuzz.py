"""Issue 8, "done when": generated bad repositories through ingest -> build -> validate.

Table-driven with a seeded generator (reproducible): random bytes, deep nesting, symlink loops and links
out of the repo, a file over the size ingest parses, odd names (rich markup, emoji codes, unicode,
spaces, NUL bytes inside files). Every command must exit 0, 1 or 2, never print a traceback, never
modify the repository, and write nothing outside OUT and DVSMITH_HOME.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakeapi import make_synthetic_repo
from tests.test_safety_out import snapshot

Maker = Callable[[Path, random.Random], None]


def _random_bytes(repo: Path, rng: random.Random) -> None:
    for i in range(3):
        (repo / f"noise{i}.sv").write_bytes(rng.randbytes(rng.randint(1, 4000)))
    (repo / "tb" / "noise.svh").write_bytes(b"class \x00\xff\xfe" + rng.randbytes(500))


def _deep(repo: Path, rng: random.Random) -> None:
    n = rng.randint(5000, 12000)
    (repo / "tb" / "deep.sv").write_text("module deep; initial " + "begin " * n + "end " * n + "endmodule\n")
    (repo / "tb" / "paren.sv").write_text("module p; initial x = " + "(" * n + "1" + ")" * n + "; endmodule\n")
    (repo / "tb" / "unclosed.sv").write_text("class c extends uvm_test;\n" + "if (a) begin\n" * 3000)


def _links(repo: Path, rng: random.Random) -> None:
    os.symlink("b", repo / "a")
    os.symlink("a", repo / "b")
    os.symlink("/etc", repo / "etclink")
    os.symlink("/etc/passwd", repo / "tb" / "passwd.sv")
    os.symlink(".", repo / "tb" / "self")
    os.symlink("../tests", repo / "tb" / "tests_again")
    os.symlink("missing.sv", repo / "tb" / "dangling.sv")


def _huge(repo: Path, rng: random.Random) -> None:
    from dvsmith.analysis.parse import MAX_FILE_BYTES

    with (repo / "tb" / "huge.sv").open("wb") as fh:
        fh.write(b"class huge_test extends uvm_test; endclass\n")
        fh.write(b"// " + b"y" * (MAX_FILE_BYTES + 1000) + b"\n")


def _odd_names(repo: Path, rng: random.Random) -> None:
    for name in ("[bold]x.sv", "x[", ":cat: y.svh", "ünï cödé_test.sv", "[/]", "a\\[red]b.sv", "-rf.sv"):
        target = repo / "tests" / name
        if name.endswith((".sv", ".svh")):
            target.write_text(f"// {name} [/red]\nclass odd_{rng.randint(0, 999)}_seq extends uvm_sequence; endclass\n")
        else:
            (target / "[").mkdir(parents=True)  # so the file's path holds "[/x]"
            (target / "[" / "x]_test.sv").write_text("class weird_test extends base_test; endclass\n")


def _mixed(repo: Path, rng: random.Random) -> None:
    _random_bytes(repo, rng)
    _links(repo, rng)
    _odd_names(repo, rng)
    (repo / "Makefile").write_bytes(b"TESTS = \xff\xfe t000_read_test [bold]\n-include /etc/passwd\n")
    (repo / "files.f").write_text("+incdir+/usr/include\n-f /etc/passwd\n../../outside.sv\ntests/t000_read_test.sv\n")


def _not_sv(repo: Path, rng: random.Random) -> None:
    for p in repo.rglob("*.sv"):
        p.unlink()
    (repo / "README.md").write_text("nothing to see\n")


CASES: dict[str, Maker] = {
    "random-bytes": _random_bytes,
    "deep-nesting": _deep,
    "links": _links,
    "huge-file": _huge,
    "odd-names": _odd_names,
    "mixed": _mixed,
    "no-systemverilog": _not_sv,
}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "dvsmith", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    assert proc.returncode in (0, 1, 2), (args, proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, (args, proc.stderr[-3000:])
    if proc.returncode == 2:  # one error line (warnings may come before it)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert lines[-1].startswith("error: ") and sum(ln.startswith("error:") for ln in lines) == 1, proc.stderr
    return proc


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_repositories_never_crash_and_write_only_out_and_home(case: str, tmp_path: Path) -> None:
    rng = random.Random(f"issue8:{case}")
    repo = tmp_path / "repo"
    make_synthetic_repo(repo, 3)
    CASES[case](repo, rng)
    home = Path(os.environ["DVSMITH_HOME"])
    out = tmp_path / "out"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    repo_before = snapshot(repo, ())
    around_before = snapshot(tmp_path, (out, repo))

    ingest = _run(["ingest", str(repo)], cwd)
    if ingest.returncode == 0:
        build = _run(["build", "--out", str(out), "--provider", "offline", "--sim", "none"], cwd)
        if build.returncode in (0, 1):
            _run(["validate", str(out)], cwd)
            _run(["build", "--out", str(out), "--provider", "offline"], cwd)  # a rebuild replaces its own OUT

    assert snapshot(repo, ()) == repo_before, "the repository was modified"
    assert snapshot(tmp_path, (out, repo)) == around_before, "something was written outside OUT"
    assert not any(cwd.iterdir())
    assert home.is_dir()
