"""The Ray executor (``--executor ray``, ``pip install 'dvsmith[ray]'``): every compile and every run is a
Ray task with its CPUs and memory declared, so a cluster of many machines grades thousands of solutions.

* Inputs travel by content hash: each distinct file is put in the object store once (by the driver,
  which owns it), and a worker fetches only the blobs its node does not already hold
  (``cache_dir()/ray/blobs/<sha256>``); the tree is laid out at ``cache_dir()/ray/trees/<hash>``, a
  stable path per content, so ccache and the compile cache (keyed by content, not by folder) serve
  repeats. Identical compiles asked for at once are sent once.
* A compile returns its result and, as a second object the driver owns, the binary; a run on another
  node fetches it only when that node has neither the compile-cache entry nor a copy.
* Everything the adapter wrote in the task's work folder (compile.log; the run's log, stderr log and
  coverage.dat) comes back and is written to the request's ``work_dir``, and the result's paths are
  rewritten to the local ones: OUT holds exactly what the local executor writes.

Resources (environment): ``DVSMITH_RAY_COMPILE_CPUS`` (2), ``DVSMITH_RAY_COMPILE_MEMORY_MB`` (3072: a UVM
compile), ``DVSMITH_RAY_RUN_CPUS`` (1), ``DVSMITH_RAY_RUN_MEMORY_MB`` (512); requests larger than the
biggest node are lowered to it. Without an address (``--ray-address`` / ``RAY_ADDRESS``) a local cluster is
started for the command (``DVSMITH_RAY_NUM_CPUS`` caps its CPUs) and stopped at the end. Workers need
dvsmith[sim] of the same version and their own toolchain; each resolves its UVM library itself
(``UVM_HOME`` or its cache).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import ray

from dvsmith import paths
from dvsmith.errors import UserInputError
from dvsmith.sim.base import CompileRequest, CompileResult, RunRequest, RunResult, SimulatorAdapter
from dvsmith.sim.executor import Executor, JobFn, JobResult, register, unit_inputs, work_files

MB = 1024 * 1024


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        raise UserInputError(f"bad {name}: {os.environ.get(name)!r} is not a number") from None


# ------------------------------------------------------------------------------------- worker side
def _ray_dir() -> Path:
    return paths.cache_dir() / "ray"


def _blob(sha: str, ref_list: list[Any] | None) -> Path:
    path = _ray_dir() / "blobs" / sha
    if not path.is_file():
        if not ref_list:
            raise RuntimeError(f"blob {sha} is neither on this node nor shipped")
        data: bytes = ray.get(ref_list[0])
        if hashlib.sha256(data).hexdigest() != sha:
            raise RuntimeError(f"blob {sha} arrived corrupted")
        paths.atomic_write_bytes(path, data)
    return path


def _tree(manifest: dict[str, str], blobs: dict[str, list[Any]]) -> Path:
    """The input tree at a stable path per content (built once per node, renamed into place)."""
    digest = hashlib.sha256(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
    tree = _ray_dir() / "trees" / digest
    if tree.is_dir():
        return tree
    tree.parent.mkdir(parents=True, exist_ok=True)
    missing = [sha for sha in set(manifest.values()) if not (_ray_dir() / "blobs" / sha).is_file()]
    if missing:  # one round trip for every blob this node lacks
        for sha, data in zip(missing, ray.get([blobs[sha][0] for sha in missing]), strict=True):
            if hashlib.sha256(data).hexdigest() != sha:
                raise RuntimeError(f"blob {sha} arrived corrupted")
            paths.atomic_write_bytes(_ray_dir() / "blobs" / sha, data)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest}.", dir=tree.parent))
    try:
        for rel, sha in manifest.items():
            dest = paths.confine(tmp, rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_blob(sha, blobs.get(sha)), dest)
        try:
            tmp.rename(tree)
        except OSError:
            if not tree.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return tree


def binary_files(binary: Path) -> dict[str, bytes]:
    """What a run needs of a compile: the binary, and the ``meta.json`` beside it (the adapter reads how
    the binary was built from it, e.g. whether the grader probe is in)."""
    out = {binary.name: binary.read_bytes()}
    meta = binary.parent / "meta.json"
    if meta.is_file() and meta != binary:
        out[meta.name] = meta.read_bytes()
    return out


def _binary(spec: dict[str, Any]) -> Path:
    """The compiled binary on this node: the compile-cache entry, a shipped copy, or fetched now."""
    entry = paths.sim_cache_dir() / spec["rel"]
    if entry.is_file():
        return entry
    copy = _ray_dir() / "bin" / spec["rel"]
    if not copy.is_file():
        files: dict[str, bytes] = ray.get(spec["refs"][0])
        for name, data in files.items():  # the binary last: its presence means the copy is complete
            if name != copy.name:
                paths.atomic_write_bytes(copy.parent / name, data)
        tmp = copy.parent / f".{copy.name}.part"
        paths.atomic_write_bytes(tmp, files[copy.name])
        tmp.chmod(0o755)
        os.replace(tmp, copy)
    return copy


@ray.remote
def _job(fn: JobFn, payload: Any, manifest: dict[str, str] | None, blobs: dict[str, list[Any]] | None,
         binary: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, bytes]]:  # fmt: skip
    """Run ``fn(tree, work, payload)`` on a worker; returns (value, the work folder's files, the worker's
    folders) and the binary ``fn`` names as its output (``binary_files``; {} when none)."""
    tree = _tree(manifest, blobs or {}) if manifest else Path(tempfile.mkdtemp(prefix="dvsmith-empty-"))
    (_ray_dir() / "work").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="job.", dir=_ray_dir() / "work"))
    try:
        binary_path = str(_binary(binary)) if binary else None
        value = fn(tree, work, {"payload": payload, "binary": binary_path})
        blob: dict[str, bytes] = {}
        if isinstance(value, dict) and value.get("_blob"):
            blob = binary_files(Path(value.pop("_blob")))
        meta = {
            "value": value,
            "files": work_files(work),
            "work": str(work),
            "tree": str(tree),
            "sim_cache": str(paths.sim_cache_dir()),
            "binary": binary_path,
        }
        return meta, blob
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not manifest:
            shutil.rmtree(tree, ignore_errors=True)


def _remote_compile(tree: Path, work: Path, args: dict[str, Any]) -> dict[str, Any]:
    cls, req_doc = args["payload"]
    req = CompileRequest.model_validate({**req_doc, "repo_root": str(tree), "work_dir": str(work)})
    adapter: SimulatorAdapter = cls()
    res = asyncio.run(adapter.compile(req))
    doc = res.model_dump(mode="json")
    if res.ok and res.binary is not None:
        if not res.binary.is_file():
            raise RuntimeError(f"the ray executor ships file binaries; {res.binary} is not a file")
        doc["_blob"] = str(res.binary)
    return doc


def _remote_run(tree: Path, work: Path, args: dict[str, Any]) -> dict[str, Any]:
    cls, req_doc = args["payload"]
    req = RunRequest.model_validate({**req_doc, "binary": args["binary"], "work_dir": str(work)})
    adapter: SimulatorAdapter = cls()
    return asyncio.run(adapter.run(req)).model_dump(mode="json")


def _remote_call(tree: Path, work: Path, args: dict[str, Any]) -> Any:
    fn, payload = args["payload"]
    return fn(tree, work, payload)


def _remote_toolchain(tree: Path, work: Path, args: dict[str, Any]) -> Any:
    cls = args["payload"]
    fn = getattr(cls(), "toolchain", None)
    return fn().model_dump(mode="json") if callable(fn) else None


# -------------------------------------------------------------------------------------- driver side
def _rewrite(doc: Any, mapping: list[tuple[str, str]]) -> Any:
    """Replace the worker's folders by the local ones in every string of ``doc``."""
    text = orjson.dumps(doc).decode()
    for remote, local in sorted(mapping, key=lambda m: -len(m[0])):
        if remote:
            text = text.replace(orjson.dumps(remote).decode()[1:-1], orjson.dumps(local).decode()[1:-1])
    return orjson.loads(text)


def _write_back(files: dict[str, bytes], work_dir: Path) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        paths.atomic_write_bytes(paths.confine(work_dir, rel), data)


@register
class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str | None = None, **init_kwargs: Any) -> None:
        self._started = False
        if not ray.is_initialized():
            addr = address or os.environ.get("RAY_ADDRESS") or None
            local: dict[str, Any] = {} if addr else {"include_dashboard": False}
            if not addr and os.environ.get("DVSMITH_RAY_NUM_CPUS"):
                local["num_cpus"] = int(_env_number("DVSMITH_RAY_NUM_CPUS", 1))
            try:
                ray.init(address=addr, log_to_driver=False, **local, **init_kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UserInputError(f"cannot reach the Ray cluster at {addr or '(a new local one)'}: {exc}") from None
            self._started = True
        resources = ray.cluster_resources()
        nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
        max_cpu = max((r.get("CPU", 0.0) for r in nodes), default=resources.get("CPU", 1.0)) or 1.0
        max_mem = max((r.get("memory", 0.0) for r in nodes), default=resources.get("memory", 0.0))
        self.total_cpus = resources.get("CPU", 1.0)

        def fit(cpus: float, mem_mb: float) -> dict[str, Any]:
            mem = mem_mb * MB
            return {"num_cpus": min(cpus, max_cpu), **({"memory": int(min(mem, max_mem))} if max_mem else {})}

        self.compile_resources = fit(_env_number("DVSMITH_RAY_COMPILE_CPUS", 2), _env_number(
            "DVSMITH_RAY_COMPILE_MEMORY_MB", 3072))  # fmt: skip
        self.run_resources = fit(_env_number("DVSMITH_RAY_RUN_CPUS", 1), _env_number("DVSMITH_RAY_RUN_MEMORY_MB", 512))
        self._blobs: dict[str, Any] = {}  # sha256 -> ObjectRef (driver-owned)
        self._binaries: dict[str, dict[str, Any]] = {}  # local binary path -> {rel, refs, tree, root}
        self._inflight: dict[str, asyncio.Future[tuple[dict[str, Any], Any]]] = {}
        self.compiles_sent = 0
        self.runs_sent = 0

    def slots(self) -> int:
        return max(1, int(self.total_cpus // max(self.run_resources["num_cpus"], 0.001)))

    def close(self) -> None:
        self._blobs.clear()
        self._binaries.clear()
        if self._started and ray.is_initialized():
            ray.shutdown()
            self._started = False

    # ---------------------------------------------------------------------------------- shipping
    def _ship(self, inputs: dict[str, Path]) -> tuple[dict[str, str], dict[str, list[Any]]]:
        manifest: dict[str, str] = {}
        refs: dict[str, list[Any]] = {}
        for rel, path in sorted(inputs.items()):
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            manifest[rel] = sha
            if sha not in self._blobs:
                self._blobs[sha] = ray.put(data)
            refs[sha] = [self._blobs[sha]]  # nested in a list: a worker fetches it only when it must
        return manifest, refs

    async def _submit(self, fn: JobFn, payload: Any, manifest: dict[str, str] | None,
                      blobs: dict[str, list[Any]] | None, binary: dict[str, Any] | None,
                      resources: dict[str, Any]) -> tuple[dict[str, Any], Any]:  # fmt: skip
        meta_ref, blob_ref = _job.options(num_returns=2, **resources).remote(fn, payload, manifest, blobs, binary)
        meta = await meta_ref
        return meta, blob_ref

    # --------------------------------------------------------------------------------- interface
    async def call(self, fn: JobFn, payload: Any, inputs: dict[str, Path] | None = None, *,
                   kind: str = "run") -> JobResult:  # fmt: skip
        manifest, blobs = self._ship(inputs or {}) if inputs else (None, None)
        resources = self.compile_resources if kind == "compile" else self.run_resources
        meta, _ = await self._submit(_remote_call, (fn, payload), manifest, blobs, None, resources)
        return JobResult(value=meta["value"], files=meta["files"])

    async def compile(self, adapter: SimulatorAdapter, req: CompileRequest) -> CompileResult:
        inputs = await asyncio.to_thread(unit_inputs, req.repo_root, req.unit)
        manifest, blobs = await asyncio.to_thread(self._ship, inputs)
        req_doc = req.model_dump(mode="json", exclude={"repo_root", "work_dir"})
        key = hashlib.sha256(orjson.dumps([type(adapter).__qualname__, manifest, req_doc],
                                          option=orjson.OPT_SORT_KEYS)).hexdigest()  # fmt: skip
        fut = self._inflight.get(key)
        if fut is None:  # identical compiles asked for at once are sent once
            self.compiles_sent += 1
            fut = asyncio.ensure_future(
                self._submit(_remote_compile, (type(adapter), req_doc), manifest, blobs, None, self.compile_resources)
            )
            self._inflight[key] = fut
            fut.add_done_callback(lambda _f, k=key: self._inflight.pop(k, None))
        meta, blob_ref = await asyncio.shield(fut)
        req.work_dir.mkdir(parents=True, exist_ok=True)
        _write_back(meta["files"], req.work_dir)
        mapping = [(meta["work"], str(req.work_dir)), (meta["tree"], str(req.repo_root.resolve()))]
        doc = dict(meta["value"])
        remote_bin = doc.get("binary")
        if remote_bin:
            try:
                rel = Path(remote_bin).relative_to(meta["sim_cache"]).as_posix()
            except ValueError:
                rel = f"{doc.get('key') or key}/{Path(remote_bin).name}"
            local_bin = paths.sim_cache_dir() / rel
            mapping.append((remote_bin, str(local_bin)))
            self._binaries[str(local_bin)] = {"rel": rel, "refs": [blob_ref], "tree": meta["tree"],
                                              "root": str(req.repo_root.resolve())}  # fmt: skip
        return CompileResult.model_validate(_rewrite(doc, mapping))

    async def run(self, adapter: SimulatorAdapter, req: RunRequest) -> RunResult:
        spec = self._binaries.get(str(req.binary))
        if spec is None:  # a binary this executor did not compile: ship the local file
            if not req.binary.is_file():
                raise UserInputError(f"binary not found: {req.binary}")
            files = await asyncio.to_thread(binary_files, req.binary)
            digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
            sha = hashlib.sha256(orjson.dumps(digests, option=orjson.OPT_SORT_KEYS)).hexdigest()
            if sha not in self._blobs:
                self._blobs[sha] = ray.put(files)
            spec = {"rel": f"shipped/{sha}/{req.binary.name}", "refs": [self._blobs[sha]], "tree": "", "root": ""}
            self._binaries[str(req.binary)] = spec
        req_doc = req.model_dump(mode="json", exclude={"binary", "work_dir"})
        self.runs_sent += 1
        meta, _ = await self._submit(_remote_run, (type(adapter), req_doc), None, None,
                                     {"rel": spec["rel"], "refs": spec["refs"]}, self.run_resources)  # fmt: skip
        req.work_dir.mkdir(parents=True, exist_ok=True)
        _write_back(meta["files"], req.work_dir)
        mapping = [(meta["work"], str(req.work_dir)), (meta["binary"] or "", str(req.binary))]
        if spec["tree"]:
            mapping.append((spec["tree"], spec["root"]))
        return RunResult.model_validate(_rewrite(meta["value"], mapping))

    def toolchain(self, adapter: SimulatorAdapter) -> Any:
        from dvsmith.sim.toolchain import Toolchain

        meta_ref, _ = _job.options(num_returns=2, num_cpus=0).remote(_remote_toolchain, type(adapter), None, None, None)
        doc = ray.get(meta_ref)["value"]
        return Toolchain.model_validate(doc) if doc else None

