"""Issue 8, items 1-3: a build never deletes what it did not make.

Each case runs the CLI as a user would and checks the exit code, the one-line message, that no traceback
is printed and that every file the user had is still there, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.fakeapi import FakeAPIServer, FakeConfig
from tests.simkit import dvsmith

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "a_class_per_file"


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """Every entry under ``root`` (symlinks not followed, ``skip`` folders left out): relative path ->
    sha256, 'dir' or 'link:T'."""
    out: dict[str, str] = {}
    if root.is_symlink():
        return {".": "link:" + os.readlink(root)}
    if root.is_file():
        return {".": hashlib.sha256(root.read_bytes()).hexdigest()}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for n in dirnames + filenames:
            p = here / n
            if p in skip:
                continue
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def refused(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(FIXTURE, dest)
    assert dvsmith("ingest", str(dest)).returncode == 0
    return dest


# ------------------------------------------------------------------------------------------------ 1


def test_1_out_containing_the_repository_is_refused_even_with_force(tmp_path: Path) -> None:
    parent = tmp_path / "p"
    parent.mkdir()
    shutil.copytree(FIXTURE, parent / "repo")
    (parent / "notes.txt").write_text("mine\n")
    assert dvsmith("ingest", str(parent / "repo")).returncode == 0
    before = snapshot(parent)
    for extra in ([], ["--force"]):
        proc = dvsmith("build", "repo", "--out", str(parent), "--provider", "offline", *extra)
        refused(proc, "contains the repository", str(parent))
        assert snapshot(parent) == before
    # the repository itself, and a folder inside it, are refused too
    refused(dvsmith("build", "repo", "--out", str(parent / "repo"), "--force"), "is the repository")
    refused(dvsmith("build", "repo", "--out", str(parent / "repo" / "out")), "outside the repository")
    assert snapshot(parent) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".p.")]


# ------------------------------------------------------------------------------------------------ 2


def test_2_a_folder_of_the_users_is_refused_without_force(repo: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_bytes(b"four years of work\x00\xff\n")
    (mine / "sub").mkdir()
    (mine / "sub" / "data.bin").write_bytes(os.urandom(1024))
    before = snapshot(mine)
    proc = dvsmith("build", "--out", str(mine), "--provider", "offline")
    refused(proc, "not a dvsmith build", "thesis.txt", "--force")
    assert snapshot(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "repo"]  # no temp or leftover folder

    forced = dvsmith("build", "--out", str(mine), "--provider", "offline", "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert "--force: replacing" in forced.stderr and "Traceback" not in forced.stderr
    assert orjson.loads(forced.stdout)["out_replaced"] == "forced"
    assert (mine / "build.json").is_file() and not (mine / "thesis.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "repo"]


def test_2_dvsmith_home_and_its_ancestors_are_refused(repo: Path, tmp_path: Path) -> None:
    home = Path(os.environ["DVSMITH_HOME"])
    before = snapshot(home)
    assert any("profiles" in k for k in before)
    for target in (home, home.parent, home / "data", home / "cache" / "gymhere"):
        proc = dvsmith("build", "--out", str(target), "--provider", "offline", "--force")
        line = refused(proc)
        assert "DVSMITH_HOME" in line or "dvsmith's" in line or "contains the repository" in line, line
        assert snapshot(home) == before


def test_2_an_existing_file_is_refused_and_not_moved(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-1.7 not really\n")
    proc = dvsmith("build", "--out", str(target), "--provider", "offline")
    refused(proc, "is a file", "--force")
    assert target.read_bytes() == b"%PDF-1.7 not really\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "report.pdf"]  # no hidden leftover


def test_2_a_symlink_is_refused_and_its_target_untouched(repo: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("keep\n")
    link = tmp_path / "link"
    link.symlink_to(real)
    before = snapshot(real)
    refused(dvsmith("build", "--out", str(link), "--provider", "offline"), "is a symlink")
    assert snapshot(real) == before and link.is_symlink()


def test_2_the_current_folder_and_its_ancestors_are_refused(repo: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "deep").mkdir(parents=True)
    (work / "deep" / "draft.sv").write_text("// mine\n")
    before = snapshot(work)
    for target in (".", "..", str(work)):
        proc = dvsmith("build", "--out", target, "--provider", "offline", "--force", cwd=work / "deep")
        line = refused(proc)
        assert "current folder" in line or "contains" in line, line
    assert snapshot(work) == before


def test_2_a_previous_build_is_replaced_but_not_one_holding_user_files(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = dvsmith("build", "--out", str(out), "--provider", "offline", "--json")
    assert first.returncode == 0, first.stderr
    assert orjson.loads(first.stdout)["out_replaced"] == "absent"
    again = dvsmith("build", "--out", str(out), "--provider", "offline", "--json")
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["out_replaced"] == "build"
    (out / "my_solution.sv").write_text("class mine; endclass\n")
    before = snapshot(out)
    refused(dvsmith("build", "--out", str(out), "--provider", "offline"), "my_solution.sv", "--force")
    assert snapshot(out) == before
    # an empty folder is fine
    empty = tmp_path / "empty"
    empty.mkdir()
    ok = dvsmith("build", "--out", str(empty), "--provider", "offline", "--json")
    assert ok.returncode == 0 and orjson.loads(ok.stdout)["out_replaced"] == "empty"


def test_2_a_previous_build_with_coverage_points_is_replaced(repo: Path, tmp_path: Path) -> None:
    # a simulated build also writes OUT/coverage/<unit>.points.json: still a build of ours
    out = tmp_path / "out"
    assert dvsmith("build", "--out", str(out), "--provider", "offline").returncode == 0
    (out / "coverage").mkdir()
    (out / "coverage" / "unit.points.json").write_text("{}\n")
    again = dvsmith("build", "--out", str(out), "--provider", "offline", "--json")
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["out_replaced"] == "build" and not (out / "coverage").exists()


def test_2_a_fake_build_json_does_not_make_a_folder_replaceable(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "looks_like_a_build"
    out.mkdir()
    (out / "build.json").write_text('{"hello": "world"}\n')
    before = snapshot(out)
    refused(dvsmith("build", "--out", str(out), "--provider", "offline"), "not a dvsmith build")
    assert snapshot(out) == before


# ------------------------------------------------------------------------------------------------ 3


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_3_temp_folders_of_dead_builds_are_removed_and_reported(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = _dead_pid()
    stale = tmp_path / f".out.tmp-{dead}"
    (stale / "oracle" / "t1").mkdir(parents=True)
    (stale / "oracle" / "t1" / "secret_test.sv").write_text("class secret_test; endclass\n")
    (stale / "gym").mkdir()
    half_removed = tmp_path / f".out.old-{dead}"
    (half_removed / "tasks").mkdir(parents=True)
    live = tmp_path / f".out.tmp-{os.getpid()}"  # a build still running (this process): not touched
    (live / "gym").mkdir(parents=True)
    users = tmp_path / f".out.tmp-{_dead_pid()}"  # named like ours, but holds the user's own file
    users.mkdir()
    (users / "notes.txt").write_text("mine\n")
    keep_live, keep_users = snapshot(live), snapshot(users)

    proc = dvsmith("build", "--out", str(out), "--provider", "offline")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "interrupted build" in proc.stderr and stale.name in proc.stderr and half_removed.name in proc.stderr
    assert not stale.exists() and not half_removed.exists()
    assert snapshot(live) == keep_live and snapshot(users) == keep_users
    report = orjson.loads((out / "build.json").read_bytes())
    assert sorted(report["stale_temps_removed"]) == sorted([stale.name, half_removed.name])


def test_3_kill_9_during_a_build_then_the_next_build_cleans_up(repo: Path, tmp_path: Path) -> None:
    config = FakeConfig(latency=30.0)  # every call hangs: the build sits in its metadata phase
    out = tmp_path / "out"
    with FakeAPIServer(config) as server:
        env = {"ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "sk-test-kill"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "dvsmith", "build", "--provider", "anthropic", "--out", str(out)],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while server.request_count < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.request_count >= 1
        temp = tmp_path / f".out.tmp-{proc.pid}"
        assert temp.is_dir()
        assert temp.stat().st_mode & 0o077 == 0  # oracles in the making are private
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert temp.is_dir()  # kill -9 leaves it: nothing can run at that moment
    again = dvsmith("build", "--provider", "offline", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert temp.name in again.stderr and "interrupted build" in again.stderr
    assert not temp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "repo"]
