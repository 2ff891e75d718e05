"""The executor interface without a simulator: a fake adapter (its "compile" concatenates the unit's
inputs into a binary, its "run" writes a log of it) and a trivial job, on the local executor and on a
local Ray cluster (``ray.init(num_cpus=2)``; skipped when ray is not installed). Both must give the
same results and write the same files into the requests' work folders."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from dvsmith import paths
from dvsmith.analysis.profile import CompileUnit
from dvsmith.errors import UserInputError
from dvsmith.sim.base import CompileRequest, CompileResult, RunRequest, RunResult, SimulatorAdapter
from dvsmith.sim.executor import ExecutedAdapter, LocalExecutor, bind, get_executor, run_slots, unit_inputs
from dvsmith.sim.uvmlog import LogHealth

ROOT = Path(__file__).resolve().parent.parent


class CatAdapter(SimulatorAdapter):
    """Compile: the unit's inputs, concatenated, are the binary (in the compile cache, by content)."""

    name = "cat"

    async def compile(self, req: CompileRequest) -> CompileResult:
        inputs = unit_inputs(req.repo_root, req.unit)
        blob = b"".join(rel.encode() + b"\n" + p.read_bytes() for rel, p in sorted(inputs.items()))
        key = hashlib.sha256(blob).hexdigest()
        binary = paths.sim_cache_dir() / key / "simv"
        cached = binary.is_file()
        if not cached:
            paths.atomic_write_bytes(binary, blob)
        log = req.work_dir / "compile.log"
        paths.atomic_write_text(log, "".join(f"{rel}\n" for rel in sorted(inputs)))
        ok = b"BROKEN" not in blob
        return CompileResult(ok=ok, binary=binary if ok else None, log=log, seconds=0.0, cached=cached, key=key,
                             command=["cat", *[str(req.repo_root.resolve() / r) for r in sorted(inputs)]],
                             errors=[] if ok else ["BROKEN found"])  # fmt: skip

    async def run(self, req: RunRequest) -> RunResult:
        data = req.binary.read_bytes()
        log = req.work_dir / f"{req.test}.s{req.seed}.log"
        meta = (req.binary.parent / "meta.json").is_file()  # the Verilator adapter reads it too
        paths.atomic_write_text(log, f"test {req.test} seed {req.seed} binary {hashlib.sha256(data).hexdigest()} "
                                     f"meta {meta}\n")  # fmt: skip
        errors = data.count(b"uvm_error")
        health = LogHealth(test_started=True, test_name=req.test, uvm_error=errors, uvm_fatal=0)
        return RunResult(exit_code=0, timed_out=False, log=log, wall_s=0.0, command=[str(req.binary), req.test],
                         health=health)  # fmt: skip


def word_count(tree: Path, work: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """The trivial job: count words of the input files, write a report into the work folder."""
    files = [p for p in sorted(tree.rglob("*")) if p.is_file()]
    counts = {p.relative_to(tree).as_posix(): len(p.read_text().split()) for p in files}
    (work / "sub").mkdir()
    (work / "sub" / "report.txt").write_text(f"{payload['label']}: {sum(counts.values())}\n")
    return {"counts": counts, "label": payload["label"]}


def _repo(tmp: Path) -> tuple[Path, CompileUnit]:
    repo = tmp / "repo"
    (repo / "tb" / "inc").mkdir(parents=True)
    (repo / "tb" / "top.sv").write_text("module top; initial run_test(); endmodule\n")
    (repo / "tb" / "inc" / "a.svh").write_text("class a; endclass // uvm_error twice uvm_error\n")
    (repo / "tb" / "inc" / "notes.txt").write_text("not an input\n")
    (repo / "tb" / "files.f").write_text("tb/top.sv\n")
    unit = CompileUnit(name="u", sources=["tb/top.sv"], incdirs=["tb/inc"], filelist="tb/files.f",
                       files=["tb/top.sv", "tb/inc/a.svh"])  # fmt: skip
    return repo, unit


def test_unit_inputs_is_the_compile_input_set(tmp_path: Path) -> None:
    repo, unit = _repo(tmp_path)
    assert sorted(unit_inputs(repo, unit)) == ["tb/files.f", "tb/inc/a.svh", "tb/top.sv"]


def test_local_executor_is_the_adapter_itself() -> None:
    adapter = CatAdapter()
    assert bind(adapter, None) is adapter and bind(adapter, LocalExecutor()) is adapter
    assert run_slots(adapter) == max(1, os.cpu_count() or 1)
    with pytest.raises(UserInputError, match="unknown executor"):
        get_executor("slurm")


async def _compile_and_run(adapter: SimulatorAdapter, repo: Path, unit: CompileUnit, out: Path) -> tuple[Any, ...]:
    comp = await adapter.compile(CompileRequest(repo_root=repo, unit=unit, work_dir=out / "compile"))
    assert comp.ok and comp.binary is not None
    runs = [await adapter.run(RunRequest(binary=comp.binary, test="t", seed=s, work_dir=out / "run")) for s in (1, 2)]
    return comp, runs


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    ray = pytest.importorskip("ray")
    worker_home = tmp_path_factory.mktemp("ray_worker_home")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "DVSMITH_HOME": str(worker_home)}})  # fmt: skip
    yield worker_home
    ray.shutdown()


async def test_ray_gives_the_same_results_and_files_as_local(ray_cluster: Path, tmp_path: Path) -> None:
    repo, unit = _repo(tmp_path)
    local_comp, local_runs = await _compile_and_run(CatAdapter(), repo, unit, tmp_path / "local")
    ex = get_executor("ray")
    try:
        assert ex.slots() == 2  # num_cpus=2, one CPU per run
        adapter = bind(CatAdapter(), ex)
        assert isinstance(adapter, ExecutedAdapter)
        ray_comp, ray_runs = await _compile_and_run(adapter, repo, unit, tmp_path / "ray")
        # the same compile twice at once is sent once; its log still lands in each work folder
        again = await asyncio_gather_compiles(adapter, repo, unit, tmp_path)
    finally:
        ex.close()
    assert ray_comp.key == local_comp.key and ray_comp.ok
    assert ray_comp.log == tmp_path / "ray" / "compile" / "compile.log"  # paths are the local ones
    assert ray_comp.command == local_comp.command  # the worker's tree path was mapped back to the repo
    assert ray_comp.binary == local_comp.binary  # same place in this machine's compile cache
    for a, b in zip(local_runs, ray_runs, strict=True):
        assert a.health == b.health and a.exit_code == b.exit_code
        assert a.log.relative_to(tmp_path / "local") == b.log.relative_to(tmp_path / "ray")
        assert b.command[0] == str(ray_comp.binary)
    assert ray_runs[0].health.uvm_error == 2
    assert _files(tmp_path / "local") == _files(tmp_path / "ray")
    assert [c.ok for c in again] == [True, True]
    assert (tmp_path / "twice0" / "compile.log").read_bytes() == (tmp_path / "twice1" / "compile.log").read_bytes()
    assert ex.compiles_sent == 2 and ex.runs_sent == 2


async def asyncio_gather_compiles(adapter: SimulatorAdapter, repo: Path, unit: CompileUnit, tmp: Path) -> list[Any]:
    import asyncio

    return list(await asyncio.gather(*(
        adapter.compile(CompileRequest(repo_root=repo, unit=unit, work_dir=tmp / f"twice{i}")) for i in range(2)
    )))  # fmt: skip


async def test_trivial_job_ships_inputs_and_returns_files(ray_cluster: Path, tmp_path: Path) -> None:
    repo, unit = _repo(tmp_path)
    inputs = unit_inputs(repo, unit)
    local = await LocalExecutor().call(word_count, {"label": "x"}, inputs)
    ex = get_executor("ray")
    try:
        remote = await ex.call(word_count, {"label": "x"}, inputs)
        # a run on a binary the executor did not compile: the local file is shipped by content
        own = tmp_path / "own" / "bin" / "simv"
        own.parent.mkdir(parents=True)
        own.write_bytes(b"uvm_error")
        (own.parent / "meta.json").write_text("{}")
        res = await bind(CatAdapter(), ex).run(RunRequest(binary=own, test="z", work_dir=tmp_path / "own" / "run"))
    finally:
        ex.close()
    assert remote == local
    assert remote.files == {"sub/report.txt": f"x: {sum(local.value['counts'].values())}\n".encode()}
    assert res.health.uvm_error == 1 and res.log == tmp_path / "own" / "run" / "z.s1.log" and res.log.is_file()
    assert res.command[0] == str(own)
    assert res.log.read_text().endswith("meta True\n")  # the binary travelled with its meta.json
    # the blobs landed in the workers' content store, named by their hash
    stored = {p.name for p in (ray_cluster / "cache" / "ray" / "blobs").iterdir()}
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs.values()} <= stored


def test_cli_eval_with_the_ray_executor_keeps_stdout_json(tmp_path: Path) -> None:
    """The CLI path of --executor ray (a local cluster started for the command): an empty solution is
    rejected before any compile, stdout holds the JSON document only; a bad executor name is exit 2."""
    import shutil

    import orjson

    from tests.simkit import cli

    pytest.importorskip("ray")
    env = {"DVSMITH_HOME": str(tmp_path / "home"), "DVSMITH_RAY_NUM_CPUS": "1"}
    repo = tmp_path / "a_class_per_file"
    shutil.copytree(ROOT / "fixtures" / "a_class_per_file", repo)
    assert cli(env, "ingest", str(repo)).returncode == 0
    assert cli(env, "build", "--provider", "offline", "--out", str(tmp_path / "out")).returncode == 0
    (tmp_path / "empty").mkdir()
    out, empty = str(tmp_path / "out"), str(tmp_path / "empty")
    proc = cli(env, "eval", out, "status_test", empty, "--executor", "ray", "--json")
    assert proc.returncode == 1, proc.stderr
    r = orjson.loads(proc.stdout)
    assert not r["passed"] and "empty" in r["reasons"][0]
    bad = cli(env, "eval", out, "status_test", empty, "--executor", "slurm")
    assert bad.returncode == 2 and "unknown executor" in bad.stderr
