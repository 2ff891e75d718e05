"""Issue 8, items 4-15: odd input never gives a traceback, and the smaller faults of the reliability pass.

Each case runs the CLI the way the issue did and checks the exit code, the message and that no traceback
is printed. Simulation is never run: builds use ``--sim none``, and the eval cases are rejected before
any compile.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.fakeapi import FakeAPIServer, FakeConfig, make_synthetic_repo
from tests.simkit import dvsmith as run_dvsmith

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "a_class_per_file"
WIDE = {"COLUMNS": "250"}  # rich tables wide enough that no cell is cut


def dvsmith(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_dvsmith(*args, cwd=cwd, env={**WIDE, **(env or {})})


def ok(proc: subprocess.CompletedProcess[str], *codes: int) -> subprocess.CompletedProcess[str]:
    assert proc.returncode in (codes or (0,)), (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def one_line(proc: subprocess.CompletedProcess[str], *needles: str, code: int = 2) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    return orjson.loads(proc.stdout)


@pytest.fixture
def synth(tmp_path: Path) -> Path:
    """A small UVM-like repo with no build files (every test is in the build): 2 tasks."""
    repo = tmp_path / "synth"
    make_synthetic_repo(repo, 2)
    return repo


def built(repo: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    ok(dvsmith("ingest", str(repo), env=env))
    return as_json(ok(dvsmith("build", "--out", str(out), "--provider", "offline", "--json", *extra, env=env)))


# ------------------------------------------------------------------------------------------------ 4


def test_4_rich_markup_in_names_paths_and_reasons_is_shown_as_text(synth: Path, tmp_path: Path) -> None:
    one_line(dvsmith("profiles", "show", "[/x]"), "[/x]")
    one_line(dvsmith("ingest", str(tmp_path / "[bold]nope")), "[bold]nope")
    odd = synth / "x["
    odd.mkdir()
    (odd / "y]_test.sv").write_text(
        "class odd_seq extends uvm_sequence #(bus_item);\n  task body(); endtask\nendclass\n"
        "class odd_test extends base_test;\n  task run_phase(uvm_phase phase);\n"
        '    odd_seq::type_id::create("s").start(env.agent.sqr);\n  endtask\nendclass\n'
    )
    (synth / "tb" / "[bold]:cat:.sv").write_text("// [red]not markup[/red] :smile:\nmodule m; endmodule\n")
    proc = ok(dvsmith("ingest", str(synth)))
    assert "x[/y]_test.sv" in proc.stderr and "odd_test" in proc.stderr
    out = tmp_path / "out[/b]"
    report = as_json(ok(dvsmith("build", "--out", str(out), "--provider", "offline", "--json")))
    assert "odd_test" in {t["id"] for t in report["tasks"]}
    shown = ok(dvsmith("build", "--out", str(out), "--provider", "offline"))
    assert str(out) in shown.stderr  # the path, [/b] included, is printed as it is
    ok(dvsmith("validate", str(out)))
    line = one_line(dvsmith("eval", str(out), "odd_test", str(tmp_path / "[bold]missing_test.sv")))
    assert "[bold]missing_test.sv" in line


# ------------------------------------------------------------------------------------------------ 5


def test_5_build_accepts_symlink_loops_and_deep_nesting_as_ingest_does(synth: Path, tmp_path: Path) -> None:
    os.symlink("b", synth / "a")
    os.symlink("a", synth / "b")
    (synth / "tb" / "deep.sv").write_text("module deep; initial " + "begin " * 10000 + "end " * 10000 + "endmodule\n")
    (synth / "tb" / "paren.sv").write_text(
        "module paren; initial x = " + "(" * 10000 + "1" + ")" * 10000 + ";\nendmodule\n"
    )
    profile = as_json(ok(dvsmith("ingest", str(synth), "--json")))
    messages = {(d["file"], d["message"]) for d in profile["diagnostics"]}
    assert ("a", "symlink loop") in messages and ("b", "symlink loop") in messages
    report = as_json(ok(dvsmith("build", "--out", str(tmp_path / "out"), "--provider", "offline", "--json")))
    assert report["ok"] is True and len(report["tasks"]) == 2
    assert (tmp_path / "out" / "gym" / "tb" / "deep.sv").is_file()
    ok(dvsmith("validate", str(tmp_path / "out")))


# ------------------------------------------------------------------------------------------------ 6


def test_6_malformed_parse_cache_records_are_dropped_and_reparsed(synth: Path) -> None:
    first = as_json(ok(dvsmith("ingest", str(synth), "--json")))
    home = Path(os.environ["DVSMITH_HOME"])
    (cache_file,) = (home / "cache" / "parse").glob("repo-*.json")
    data = orjson.loads(cache_file.read_bytes())
    names = sorted(data["files"])
    data["files"][names[0]] = 5
    data["files"][names[1]]["facts"] = {"bogus": 1}
    data["files"][names[2]]["facts"]["classes"] = [{"nonsense": True}]
    cache_file.write_bytes(orjson.dumps(data))
    proc = ok(dvsmith("ingest", str(synth), "--json"))
    assert "malformed record" in proc.stderr
    again = as_json(proc)
    assert again["stats"]["files_parsed"] == 3 and again["tests"] == first["tests"]
    # deeper damage the record check lets through: the whole cache is dropped, with a warning
    data = orjson.loads(cache_file.read_bytes())
    data["files"][names[0]]["facts"]["classes"] = [{"name": "x", "line": 1, "base": None}]
    cache_file.write_bytes(orjson.dumps(data))
    proc = ok(dvsmith("ingest", str(synth), "--json"))
    assert "parse cache unusable" in proc.stderr and as_json(proc)["tests"] == first["tests"]
    third = as_json(ok(dvsmith("ingest", str(synth), "--json")))
    assert third["stats"]["files_parsed"] == 0  # the rewritten cache is whole again


# ------------------------------------------------------------------------------------------------ 7


def test_7_validate_a_corrupt_manifest_or_escaping_task_paths_is_bad_input(synth: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = built(synth, out)
    bad_manifest = tmp_path / "m"
    shutil.copytree(out, bad_manifest, symlinks=True)
    (bad_manifest / "gym_manifest.json").write_text("{bad")
    one_line(dvsmith("validate", str(bad_manifest)), "corrupt gym_manifest.json")
    (bad_manifest / "gym_manifest.json").write_text('{"tb/env.sv": 5}')
    one_line(dvsmith("validate", str(bad_manifest)), "corrupt gym_manifest.json")

    escaping = tmp_path / "t"
    shutil.copytree(out, escaping, symlinks=True)
    task_id = report["tasks"][0]["id"]
    task_file = escaping / "tasks" / task_id / "task.json"
    task = orjson.loads(task_file.read_bytes())
    task["files_to_write"] = ["../../../etc/passwd"]
    task_file.write_bytes(orjson.dumps(task))
    one_line(dvsmith("validate", str(escaping)), "escapes the gym", "../../../etc/passwd")
    one_line(dvsmith("eval", str(escaping), task_id, str(synth / "tb" / "env.sv")), "escapes the gym")
    task["files_to_write"], task["removed_references"] = ["tests/x.sv"], [{"file": "/etc/hosts", "text": ""}]
    task_file.write_bytes(orjson.dumps(task))
    one_line(dvsmith("validate", str(escaping)), "escapes the gym", "/etc/hosts")


# ------------------------------------------------------------------------------------------------ 8


def test_8_ingest_does_not_follow_links_out_of_the_repository(synth: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "lib").mkdir(parents=True)
    for i in range(50):
        (outside / "lib" / f"f{i}.sv").write_text(f"class outside_test{i} extends uvm_test; endclass\n")
    (outside / "secret.txt").write_text("root:x:0:0:SECRET-TOKEN\n")
    os.symlink(outside / "lib", synth / "usrlink")
    os.symlink(outside, synth / "etclink")
    os.symlink(outside / "secret.txt", synth / "tb" / "pw.sv")
    (synth / "tb" / "consts.svh").write_text("`define BUS_W 8\n")
    os.symlink("consts.svh", synth / "tb" / "consts_link.svh")  # inside the repo: followed, kept as a link
    proc = ok(dvsmith("ingest", str(synth), "--json"))
    profile = as_json(proc)
    assert "SECRET-TOKEN" not in proc.stdout and "outside_test" not in proc.stdout
    files = {f["path"] for f in profile["files"]}
    assert not any(f.startswith(("usrlink", "etclink", "tb/pw.sv")) for f in files)
    assert "tb/consts_link.svh" in files
    msgs = {d["file"]: d["message"] for d in profile["diagnostics"]}
    for link in ("usrlink", "etclink", "tb/pw.sv"):
        assert "outside the repository" in msgs[link]
    report = as_json(ok(dvsmith("build", "--out", str(tmp_path / "out"), "--provider", "offline", "--json")))
    gym = tmp_path / "out" / "gym"
    assert report["ok"] and not (gym / "usrlink").exists() and not (gym / "etclink").exists()
    assert not (gym / "tb" / "pw.sv").exists() and (gym / "tb" / "consts_link.svh").is_symlink()
    # profile and gym agree: every SV file of the profile is in the gym, or is the solution of a task
    removed = set()
    for t in report["tasks"]:
        removed |= set(orjson.loads((tmp_path / "out" / "tasks" / t["id"] / "task.json").read_bytes())["removed_files"])
    for rel in files:
        if rel.endswith(".sv"):
            assert (gym / rel).exists() or rel in removed, rel


# ------------------------------------------------------------------------------------------------ 9


def test_9_parallel_ingests_keep_every_index_entry(synth: Path) -> None:
    env = {**os.environ, **WIDE}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dvsmith", "ingest", str(synth), "--name", f"p{i}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "Traceback" not in err, err
    listed = as_json(ok(dvsmith("profiles", "list", "--json")))
    assert sorted(p["name"] for p in listed) == [f"p{i}" for i in range(8)]
    home = Path(os.environ["DVSMITH_HOME"])
    index = orjson.loads((home / "data" / "profiles" / ".index.json").read_bytes())
    assert sorted(index["profiles"]) == [f"p{i}" for i in range(8)]


# ----------------------------------------------------------------------------------------------- 10


def test_10_a_profile_named_index_is_a_profile_like_any_other(synth: Path) -> None:
    ok(dvsmith("ingest", str(synth), "--name", "index"))
    ok(dvsmith("ingest", str(synth), "--name", "other"))
    assert sorted(p["name"] for p in as_json(ok(dvsmith("profiles", "list", "--json")))) == ["index", "other"]
    assert as_json(ok(dvsmith("profiles", "show", "index", "--json")))["name"] == "index"
    ok(dvsmith("profiles", "rm", "index"))
    assert [p["name"] for p in as_json(ok(dvsmith("profiles", "list", "--json")))] == ["other"]
    one_line(dvsmith("profiles", "rm", ".index"), "invalid profile name")
    assert [p["name"] for p in as_json(ok(dvsmith("profiles", "list", "--json")))] == ["other"]


# ----------------------------------------------------------------------------------------------- 11


def test_11_build_never_reads_a_file_ingest_skipped(
    synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dvsmith.analysis import limits
    from dvsmith.analysis.ingest import ingest
    from dvsmith.gym import build as gym_build

    huge = synth / "tb" / "huge.sv"
    with huge.open("wb") as fh:  # just over the size ingest parses
        line = b"// " + b"x" * 96 + b"\n"
        for _ in range(limits.MAX_FILE_BYTES // len(line) + 10):
            fh.write(line)
    profile, _ = ingest(synth)
    assert any("larger than" in d.message for d in profile.diagnostics if d.file == "tb/huge.sv")

    real_read_bytes = Path.read_bytes
    reads: list[str] = []

    def guarded(self: Path) -> bytes:
        if self.name == "huge.sv":
            reads.append(str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)
    report = asyncio.run(gym_build.run_build(gym_build.BuildOptions(out=tmp_path / "out", provider="offline")))
    assert report.ok
    assert reads == []  # never read whole, by any phase
    copied = tmp_path / "out" / "gym" / "tb" / "huge.sv"
    assert copied.stat().st_size == huge.stat().st_size


# ----------------------------------------------------------------------------------------------- 12


def test_12_ai_cache_holds_the_trimmed_answer_and_refuses_oversized_ones(synth: Path, tmp_path: Path) -> None:
    home = Path(os.environ["DVSMITH_HOME"])
    ok(dvsmith("ingest", str(synth)))
    fast = {"DVSMITH_AI_BACKOFF_CAP_S": "0.01", "DVSMITH_AI_RETRY_AFTER_CAP_S": "0.01"}
    with FakeAPIServer(FakeConfig(description_chars=40_000)) as server:  # long, but a real model could write it
        env = {"ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "sk-test-big", **fast}
        report = as_json(
            ok(dvsmith("build", "--out", str(tmp_path / "a"), "--provider", "anthropic", "--json", env=env))
        )
    assert all(t["metadata_source"] == "anthropic" for t in report["tasks"])
    records = list((home / "cache" / "ai").rglob("*.json"))
    assert len(records) == 2 and all(r.stat().st_size < 8_000 for r in records)
    assert all(len(orjson.loads(r.read_bytes())["answer"]["description"]) <= 900 for r in records)

    shutil.rmtree(home / "cache" / "ai")
    with FakeAPIServer(FakeConfig(description_chars=2_000_000)) as server:  # no real answer is this long
        env = {"ANTHROPIC_BASE_URL": server.base_url, "ANTHROPIC_API_KEY": "sk-test-big", **fast}
        out = tmp_path / "b"
        report = as_json(ok(dvsmith("build", "--out", str(out), "--provider", "anthropic", "--json", env=env)))
    assert report["ai"]["fallbacks"] == 2 and all(t["metadata_fell_back"] for t in report["tasks"])
    assert not list((home / "cache" / "ai").rglob("*.json"))
    logs = home / "logs" / "ai_calls.jsonl"
    assert b"exceeds" in logs.read_bytes() and logs.stat().st_size < 100_000


# ----------------------------------------------------------------------------------------------- 13


def test_13_cache_info_and_clear_cover_eval_scratch(synth: Path) -> None:
    home = Path(os.environ["DVSMITH_HOME"])
    left = home / "cache" / "eval" / "t1.abc123"
    (left / "run").mkdir(parents=True)
    (left / "run" / "sim.log").write_text("UVM_ERROR : 1\n")
    info = as_json(ok(dvsmith("cache", "info", "--json")))
    assert info["caches"]["eval"]["files"] == 1 and info["caches"]["eval"]["path"] == str(home / "cache" / "eval")
    assert "eval" in ok(dvsmith("cache", "info")).stdout
    cleared = as_json(ok(dvsmith("cache", "clear", "--json")))
    assert cleared["eval"] == 1 and not left.exists()


# ----------------------------------------------------------------------------------------------- 14


def test_14_all_429_trips_the_breaker_and_every_task_falls_back_at_once(tmp_path: Path) -> None:
    repo = tmp_path / "many"
    make_synthetic_repo(repo, 20)
    ok(dvsmith("ingest", str(repo)))
    with FakeAPIServer(FakeConfig(rates={"429": 1.0}, retry_after="1")) as server:
        env = {
            "ANTHROPIC_BASE_URL": server.base_url,
            "ANTHROPIC_API_KEY": "sk-test-429",
            "DVSMITH_AI_RETRY_AFTER_CAP_S": "0.02",
            "DVSMITH_AI_BACKOFF_CAP_S": "0.02",
        }
        out = tmp_path / "out"
        proc = ok(
            dvsmith("build", "--out", str(out), "--provider", "anthropic", "--concurrency", "8", "--json", env=env)
        )
        requests = server.request_count
    report = as_json(proc)
    n = len(report["tasks"])
    assert n == 20
    ai = report["ai"]
    # without the breaker: 6 attempts per task (120 requests); with it: the 8 failures that trip it
    assert requests == ai["attempts"] == 8, requests
    assert requests < n  # far fewer than one per task, let alone 6
    assert ai["breaker_open"] is True and "429" in ai["breaker_reason"]
    assert ai["fallbacks"] == n and ai["not_called"] >= n - 2 and ai["min_concurrency"] == 1
    assert all(t["metadata_fell_back"] and t["metadata_source"] == "offline" for t in report["tasks"])
    assert "AI calls stopped" in proc.stderr and "offline metadata" in proc.stderr
    shown = ok(dvsmith("build", "--out", str(out), "--provider", "anthropic", env=env))
    assert "AI calls stopped" in shown.stderr and "(fallback)" in shown.stderr


def test_14_a_flaky_api_recovers_and_is_not_cut_off(tmp_path: Path) -> None:
    """Intermittent 429s halve the bound, successes bring it back, and no call is cut off."""
    repo = tmp_path / "many"
    make_synthetic_repo(repo, 12)
    ok(dvsmith("ingest", str(repo)))
    script = {i: "429" for i in range(1, 4)}  # a burst of three 429s right after the warm-up call
    # the 429s answer at once and every other call after a delay, so all three 429s are seen before any
    # success regrows the bound (without it the order of near-simultaneous answers decides)
    config = FakeConfig(script=script, retry_after="0", latency=lambda i: 0.0 if i in script else 0.3)
    with FakeAPIServer(config) as server:
        env = {
            "ANTHROPIC_BASE_URL": server.base_url,
            "ANTHROPIC_API_KEY": "sk-test-flaky",
            "DVSMITH_AI_BACKOFF_CAP_S": "0.01",
        }
        report = as_json(
            ok(dvsmith("build", "--out", str(tmp_path / "o"), "--provider", "anthropic", "--json", env=env))
        )
        assert server.request_count == 12 + 3
    ai = report["ai"]
    assert ai["breaker_open"] is False and ai["fallbacks"] == 0 and ai["min_concurrency"] == 1
    assert all(t["metadata_source"] == "anthropic" for t in report["tasks"])


# ----------------------------------------------------------------------------------------------- 15


def test_15_a_symlinked_solution_file_is_named_as_a_symlink(synth: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = built(synth, out)
    task_id = report["tasks"][0]["id"]
    task = orjson.loads((out / "tasks" / task_id / "task.json").read_bytes())
    (rel,) = task["files_to_write"]
    solution = tmp_path / "solution"
    (solution / rel).parent.mkdir(parents=True)
    real = tmp_path / "elsewhere.sv"
    real.write_bytes((out / "oracle" / task_id / rel).read_bytes())
    os.symlink(real, solution / rel)
    proc = ok(dvsmith("eval", str(out), task_id, str(solution), "--json"), 1)
    result = as_json(proc)
    assert result["score"] == 0 and not result["passed"] and not result["compiled"]
    assert any("is a symlink" in r and rel in r for r in result["reasons"]), result["reasons"]
    assert not any("outside files_to_write" in r for r in result["reasons"])
