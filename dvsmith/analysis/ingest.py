"""Ingest: walk a repo, parse its SystemVerilog (with a per-file cache), classify, build the profile."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import multiprocessing
import os
import pickle
import posixpath
import re
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from dvsmith import paths
from dvsmith.analysis import limits
from dvsmith.analysis.buildsys import SV_EXTS, BuildScan, classify_build_file
from dvsmith.analysis.classify import assemble
from dvsmith.analysis.gitinfo import git_info as _git_info
from dvsmith.analysis.limits import FACTS_VERSION
from dvsmith.analysis.profile import Diagnostic, FileRecord, GitInfo, Profile
from dvsmith.analysis.recipe import finish_units
from dvsmith.analysis.roots import scan_build
from dvsmith.analysis.simconfig import load_sim_config
from dvsmith.analysis.store import CorruptProfileError, read_profile, save_profile
from dvsmith.analysis.uvm_macros import PRELUDE_VERSION
from dvsmith.analysis.walk import Entry as _Entry
from dvsmith.analysis.walk import WalkError
from dvsmith.analysis.walk import walk_repo as _walk
from dvsmith.errors import UserInputError
from dvsmith.events import Event, Reporter, null_reporter

ANALYSIS_VERSION = f"facts{FACTS_VERSION}-prelude{PRELUDE_VERSION}-pyslang{importlib.metadata.version('pyslang')}"


def _sv() -> ModuleType:
    """The parser module, imported on first use: pyslang loads only when a file must be parsed, so a warm
    ingest (every file from the cache) never pays for it."""
    from dvsmith.analysis import parse

    return parse
CACHE_FORMAT = 1
#: cold parses of at least this many files and bytes go to a process pool. Measured side by side with
#: ``scripts/bench_ingest.py --compare-pool`` on 2 busy cores: ~320 files / 29k lines: serial 0.66 s,
#: pool 0.99 s; ~2,500 files / 65k lines: serial 3.1 s, pool 2.6 s.
POOL_MIN_FILES = 1000
POOL_MIN_BYTES = 1_500_000


class IngestStats(BaseModel):
    files_total: int
    files_parsed: int
    cache_hits: int
    seconds: float


# ---------------------------------------------------------------------------- walking


def _check_repo(repo: Path) -> Path:
    repo = Path(repo).expanduser()
    if not repo.exists():
        raise UserInputError(f"repository not found: {repo}")
    if not repo.is_dir():
        raise UserInputError(f"not a folder: {repo}")
    return repo.resolve()


def walk_repo(repo: Path) -> tuple[list[_Entry], list[Diagnostic]]:
    """Every file under ``repo`` (``dvsmith.analysis.walk``), its problems as diagnostics."""
    try:
        entries, problems = _walk(repo)
    except WalkError as exc:
        raise UserInputError(str(exc.strerror)) from exc
    return entries, [Diagnostic(file=f, message=m) for f, m in problems]


def vendored_uvm_dirs(entries: list[_Entry]) -> list[str]:
    """Folders holding a copy of the UVM library (``uvm_pkg.sv`` beside ``uvm_macros.svh``).

    The distribution's root (the parent of its ``src``) is excluded as a whole, so its examples do not
    count as the repo's tests; the repo root itself is never excluded.
    """
    rels = {e.rel for e in entries}
    out: list[str] = []
    for rel in sorted(rels):
        if posixpath.basename(rel) != "uvm_pkg.sv":
            continue
        folder = posixpath.dirname(rel)
        if not folder or posixpath.join(folder, "uvm_macros.svh") not in rels:
            continue
        if posixpath.basename(folder) == "src" and posixpath.dirname(folder):
            folder = posixpath.dirname(folder)
        if not any(folder == o or folder.startswith(o + "/") for o in out):
            out.append(folder)
    return out


def is_sv(rel: str) -> bool:
    return rel.lower().endswith(SV_EXTS)


def _included_other(facts_by_file: dict[str, dict], entries: list[_Entry], asked: set[str]) -> list[_Entry]:
    """Repo files not parsed yet whose name an `` `include`` of a parsed file names, with an extension
    other than .sv/.svh/.v/.vh (``.incl``, ``.inc``, ``.pkg``, ...); never one asked before (a build file,
    an unreadable one)."""
    wanted = {
        posixpath.basename(inc["path"])
        for f in facts_by_file.values()
        for inc in f.get("includes", [])
        if not is_sv(inc["path"])
    }
    if not wanted:
        return []
    return [e for e in entries if posixpath.basename(e.rel) in wanted and e.rel not in facts_by_file
            and e.rel not in asked]  # fmt: skip


# ---------------------------------------------------------------------------- parse cache


def _cache_file(repo: Path) -> Path:
    key = hashlib.sha256(str(repo).encode()).hexdigest()[:24]
    return paths.parse_cache_dir() / f"repo-{key}.json"


SCAN_CACHE_FORMAT = 3  # bump when the build scan's results change (3: simulator homes, UVM_HOME branches, tool)


def _scan_build_cached(repo: Path, entries: list[_Entry], *, use_cache: bool, write_cache: bool) -> BuildScan:
    """``scan_build`` (the static reading of build files plus ``make -n`` of each Makefile, in a scratch copy
    of the repo) is the slow part of a warm ingest; its result only depends on the repo's files, so it is
    kept per repo under a key of every file's path, size and mtime (any change: scanned again)."""
    listing = [(e.rel, e.size, e.mtime_ns) for e in entries]
    key = hashlib.sha256(orjson.dumps([SCAN_CACHE_FORMAT, ANALYSIS_VERSION, str(repo), listing])).hexdigest()
    target = paths.parse_cache_dir() / f"scan-{hashlib.sha256(str(repo).encode()).hexdigest()[:24]}.pickle"
    if use_cache:
        try:
            stored_key, scan = pickle.loads(target.read_bytes())  # our own cache file, never a repo's
            if stored_key == key and isinstance(scan, BuildScan):
                return scan
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
            pass
    scan = scan_build(repo, [e.rel for e in entries])
    if write_cache:
        with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
            paths.atomic_write_bytes(target, pickle.dumps((key, scan), protocol=pickle.HIGHEST_PROTOCOL))
    return scan


def _load_cache(repo: Path, ctx: str, reporter: Reporter) -> dict[str, dict]:
    path = _cache_file(repo)
    if not path.exists():
        return {}
    try:
        data = orjson.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(data.get("files"), dict):
            raise ValueError("unexpected layout")
    except (OSError, ValueError) as exc:
        reporter(Event("warning", message=f"parse cache {path.name} is corrupt ({exc}); rebuilding it"))
        return {}
    if data.get("ctx") != ctx or data.get("repo") != str(repo):
        return {}
    files = {rel: rec for rel, rec in data["files"].items() if isinstance(rel, str) and _valid_record(rec)}
    bad = len(data["files"]) - len(files)
    if bad:
        reporter(
            Event("warning", message=f"parse cache {path.name}: {bad} malformed record(s) ignored; re-parsing them")
        )
    return files


#: the top-level shape of a file's facts (what parse.parse_bytes returns); list items are objects
_FACT_SHAPE: dict[str, type] = {
    "sha256": str,
    "diagnostics": list,
    "macro_defs": dict,
    "repo_macros_used": dict,
    "unknown_macros": list,
    "classes": list,
    "externs": list,
    "covergroups": list,
    "packages": list,
    "modules": list,
    "imports": list,
    "includes": list,
    "uvm_uses": list,
}
_ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "classes": ("name", "line", "base"),
    "externs": (),
    "covergroups": (),
    "packages": (),
    "modules": (),
    "diagnostics": ("line", "message"),
    "includes": ("path",),
    "uvm_uses": ("line", "api"),
}


def _valid_record(rec: Any) -> bool:
    """A parse-cache record as :func:`analyze_repo` writes it (a hand-edited or damaged one is not)."""
    if not isinstance(rec, dict):
        return False
    if any(type(rec.get(k)) is not int for k in ("size", "mtime_ns")) or not isinstance(rec.get("sha256"), str):
        return False
    facts = rec.get("facts")
    if not isinstance(facts, dict) or facts.get("sha256") != rec["sha256"]:
        return False
    for key, kind in _FACT_SHAPE.items():
        value = facts.get(key)
        if not isinstance(value, kind):
            return False
        needs = _ITEM_KEYS.get(key)
        if needs is not None and not all(isinstance(i, dict) and all(k in i for k in needs) for i in value):
            return False
    return True


def _save_cache(repo: Path, ctx: str, files: dict[str, dict]) -> None:
    payload = {"format": CACHE_FORMAT, "ctx": ctx, "repo": str(repo), "files": files}
    paths.atomic_write_bytes(_cache_file(repo), orjson.dumps(payload))


def clear_parse_cache() -> int:
    """Remove every parse-cache file; returns how many were removed."""
    folder = paths.parse_cache_dir()
    n = 0
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file():
                p.unlink(missing_ok=True)
                n += int(not p.name.startswith("scan-"))  # a repo's build scan goes with its parse cache
    return n


def parse_cache_info() -> dict[str, Any]:
    folder = paths.parse_cache_dir()
    files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    return {
        "path": str(folder),
        "repos": sum(1 for p in files if p.name.startswith("repo-")),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
    }


# ---------------------------------------------------------------------------- parsing


_JOB_DEFINES: list[str] = []
_JOB_TABLE: dict[str, str] = {}


def _parse_one(item: tuple[str, bytes]) -> tuple[str, dict]:
    rel, data = item
    return rel, _sv().parse_bytes(data, _JOB_DEFINES, _JOB_TABLE)


def _parse_many(
    items: list[tuple[str, bytes]], defines: list[str], table: dict[str, str], reporter: Reporter
) -> dict[str, dict]:
    global _JOB_DEFINES, _JOB_TABLE
    _JOB_DEFINES, _JOB_TABLE = defines, table
    out: dict[str, dict] = {}
    total_bytes = sum(len(d) for _, d in items)
    workers = min(os.cpu_count() or 1, 4)
    env_workers = os.environ.get("DVSMITH_PARSE_WORKERS", "")
    if env_workers.isdigit():
        workers = int(env_workers)
    reporter(Event("phase_start", phase="parse", total=len(items)))
    if workers > 1 and len(items) >= POOL_MIN_FILES and total_bytes >= POOL_MIN_BYTES:
        ctx = multiprocessing.get_context("fork")
        # largest first so the pool's tail is short
        items = sorted(items, key=lambda it: -len(it[1]))
        chunk = max(4, len(items) // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for rel, facts in pool.map(_parse_one, items, chunksize=chunk):
                out[rel] = facts
                reporter(Event("task_advance", phase="parse", advance=1))
    else:
        for item in items:
            rel, facts = _parse_one(item)
            out[rel] = facts
            reporter(Event("task_advance", phase="parse", advance=1))
    reporter(Event("phase_end", phase="parse"))
    return out


def _stale_for_macros(facts: dict, table: dict[str, str]) -> bool:
    for name, body in facts.get("repo_macros_used", {}).items():
        if table.get(name) != body:
            return True
    # a macro the file lacked that the repo now defines (when it was supplied already, a re-parse
    # would not change anything)
    used = facts.get("repo_macros_used", {})
    return any(u in table and u not in used for u in facts.get("unknown_macros", []))


# ---------------------------------------------------------------------------- git


def git_info(repo: Path) -> GitInfo | None:
    info = _git_info(repo)
    return None if info is None else GitInfo.model_validate(info)


# ---------------------------------------------------------------------------- analysis


def _safe_name(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    if not slug:
        raise UserInputError(f"invalid profile name: {name!r}")
    return slug


def analyze_repo(
    repo: Path,
    *,
    name: str | None = None,
    use_cache: bool = True,
    reporter: Reporter = null_reporter,
    require_tests: bool = True,
    write_cache: bool = True,
    sim_config: Path | None = None,
) -> tuple[Profile, IngestStats]:
    """Analyse ``repo`` into a profile (not saved).

    ``use_cache=False`` parses every file and rebuilds the cache; ``write_cache=False`` leaves the cache
    alone (for scratch folders such as a gym being checked); ``require_tests=False`` accepts a repo
    with no test. Cached facts that pass the record check but still cannot be used (damaged deeper
    down) are dropped with a warning and every file is parsed again.
    """
    kwargs: dict[str, Any] = {
        "name": name, "reporter": reporter, "require_tests": require_tests, "sim_config": sim_config,
    }
    if not use_cache:
        return _analyze_repo(repo, use_cache=False, write_cache=write_cache, **kwargs)
    try:
        return _analyze_repo(repo, use_cache=True, write_cache=write_cache, **kwargs)
    except (KeyError, TypeError, AttributeError, IndexError, ValidationError) as exc:
        reporter(Event("warning", message=f"parse cache unusable ({type(exc).__name__}); re-parsing every file"))
        return _analyze_repo(repo, use_cache=False, write_cache=write_cache, **kwargs)


def _analyze_repo(
    repo: Path,
    *,
    name: str | None,
    use_cache: bool,
    reporter: Reporter,
    require_tests: bool,
    write_cache: bool,
    sim_config: Path | None = None,
) -> tuple[Profile, IngestStats]:
    t0 = time.perf_counter()
    repo = _check_repo(repo)
    cfg, cfg_path = load_sim_config(repo, sim_config)
    reporter(Event("phase_start", phase="scan"))
    entries, walk_diags = walk_repo(repo)
    if not entries:
        raise UserInputError(f"folder is empty: {repo}")
    vendored = vendored_uvm_dirs(entries)
    if vendored:
        entries = [e for e in entries if not any(e.rel.startswith(d + "/") for d in vendored)]
        walk_diags += [
            Diagnostic(file=d, message="UVM library sources: not analysed (the simulator adds UVM)") for d in vendored
        ]
    sv_entries = [e for e in entries if is_sv(e.rel)]
    if not sv_entries:
        raise UserInputError(f"no SystemVerilog files (.sv .svh .v .vh) in {repo}")
    build_rels = [e.rel for e in entries if classify_build_file(e.rel)]
    scan = _scan_build_cached(repo, entries, use_cache=use_cache, write_cache=write_cache)
    defines = [f"{k}={v}" if v is not None else k for k, v in sorted(scan.defines.items())]
    ctx = hashlib.sha256(orjson.dumps([ANALYSIS_VERSION, defines])).hexdigest()
    reporter(Event("phase_end", phase="scan"))

    cache = _load_cache(repo, ctx, reporter) if use_cache else {}
    new_cache: dict[str, dict] = {}
    hits: dict[str, dict] = {}
    todo: list[tuple[str, bytes]] = []
    read_diags: list[Diagnostic] = []

    def lookup(e: _Entry, hits: dict[str, dict], todo: list[tuple[str, bytes]]) -> None:
        """A cache hit (same size and mtime, or same content) into ``hits``, else the bytes into ``todo``."""
        rec = cache.get(e.rel)
        if rec is not None and rec["size"] == e.size and rec["mtime_ns"] == e.mtime_ns:
            hits[e.rel] = rec
            return
        try:
            data = e.path.read_bytes() if e.size <= limits.MAX_FILE_BYTES else b""
        except OSError as exc:
            read_diags.append(Diagnostic(file=e.rel, message=f"not readable: {exc.strerror}"))
            return
        if e.size > limits.MAX_FILE_BYTES:
            why = f"file skipped: larger than {limits.MAX_FILE_BYTES} bytes"
            facts = _sv().skipped_facts(paths.sha256_file(e.path), why)
            hits[e.rel] = {"size": e.size, "mtime_ns": e.mtime_ns, "sha256": facts["sha256"], "facts": facts}
            return
        if rec is not None and rec["size"] == e.size and rec["sha256"] == hashlib.sha256(data).hexdigest():
            hits[e.rel] = {**rec, "mtime_ns": e.mtime_ns}
            return
        todo.append((e.rel, data))

    for e in sv_entries:
        lookup(e, hits, todo)
    # the repo's own macros, for files that use a macro they do not define
    table: dict[str, str] = {}
    fresh_defs = {rel: _sv().scan_macro_defs(data) for rel, data in todo}
    for rel in sorted(set(hits) | set(fresh_defs)):
        defs = fresh_defs[rel] if rel in fresh_defs else hits[rel]["facts"].get("macro_defs", {})
        for k, v in defs.items():
            table.setdefault(k, v)
    by_rel = {e.rel: e for e in sv_entries}
    for rel in sorted(hits):
        if _stale_for_macros(hits[rel]["facts"], table):
            try:
                todo.append((rel, by_rel[rel].path.read_bytes()))
                del hits[rel]
            except OSError:
                pass
    parsed = _parse_many(todo, defines, table, reporter) if todo else {}
    facts_by_file: dict[str, dict] = {}

    def merge(hits: dict[str, dict], parsed: dict[str, dict]) -> None:
        for rel, rec in hits.items():
            facts_by_file[rel] = rec["facts"]
            new_cache[rel] = rec
        for rel, facts in parsed.items():
            e = by_rel[rel]
            facts_by_file[rel] = facts
            new_cache[rel] = {"size": e.size, "mtime_ns": e.mtime_ns, "sha256": facts["sha256"], "facts": facts}

    merge(hits, parsed)
    # files an SV file includes under another name (`include "mstr_slv_src.incl"`, Practical-UVM) are
    # SystemVerilog too: parsed as well, round after round, so the includes they hold are followed
    asked = set(build_rels)
    n_extra = extra_parsed = extra_hits = 0
    while True:
        extra = _included_other(facts_by_file, entries, asked)
        if not extra:
            break
        asked |= {e.rel for e in extra}
        more_hits: dict[str, dict] = {}
        more_todo: list[tuple[str, bytes]] = []
        for e in extra:
            by_rel[e.rel] = e
            lookup(e, more_hits, more_todo)
        more = _parse_many(more_todo, defines, table, reporter) if more_todo else {}
        n_extra, extra_parsed, extra_hits = n_extra + len(extra), extra_parsed + len(more), extra_hits + len(more_hits)
        merge(more_hits, more)
    if write_cache:
        try:
            _save_cache(repo, ctx, new_cache)
        except OSError as exc:
            reporter(Event("warning", message=f"could not write the parse cache: {exc}"))

    reporter(Event("phase_start", phase="classify"))
    index = scan.index
    ordered = {rel: facts_by_file[rel] for rel in sorted(facts_by_file)}
    result = assemble(ordered, scan, index, has_build_files=bool(scan.roots) or scan.info.kind != "none")
    reporter(Event("phase_end", phase="classify"))
    if require_tests and not result.tests:
        raise UserInputError(f"no UVM test found in {repo} (no class extends uvm_test)")

    diagnostics: list[Diagnostic] = list(walk_diags) + read_diags
    for rel in sorted(facts_by_file):
        for d in facts_by_file[rel]["diagnostics"]:
            diagnostics.append(Diagnostic(file=rel, line=d["line"], message=d["message"]))
        unknown = [u for u in facts_by_file[rel].get("unknown_macros", []) if not u.startswith(("uvm_", "UVM_"))]
        if unknown:
            diagnostics.append(Diagnostic(file=rel, message="undefined macros: " + ", ".join(unknown)))
    diagnostics += [Diagnostic(file=f, line=ln, message=m) for f, ln, m in scan.diagnostics]
    diagnostics += result.diagnostics

    used_build = set(scan.info.files) | set(scan.info.filelists)
    records: list[FileRecord] = []
    for rel in sorted(facts_by_file):
        e = by_rel[rel]
        rec = new_cache[rel]
        records.append(
            FileRecord(
                path=rel,
                size=e.size,
                mtime_ns=e.mtime_ns,
                sha256=rec["sha256"],
                includes=result.includes_of.get(rel, []),
                in_build=rel in result.in_build,
            )
        )
    entry_by_rel = {e.rel: e for e in entries}
    for rel in sorted(build_rels):
        e = entry_by_rel[rel]
        try:
            sha = paths.sha256_file(e.path)
        except OSError:
            continue
        records.append(FileRecord(path=rel, size=e.size, mtime_ns=e.mtime_ns, sha256=sha, in_build=rel in used_build))
    fp = hashlib.sha256(ANALYSIS_VERSION.encode())
    for r in sorted(records, key=lambda r: r.path):
        fp.update(f"{r.path}\0{r.sha256}\n".encode())

    uvm_uses = {rel: f["uvm_uses"] for rel, f in facts_by_file.items()}
    units = finish_units(repo, result.units, result.tests, cfg, uvm_uses)
    comps = result.components
    profile = Profile(
        name=_safe_name(name or repo.name),
        repo_root=str(repo),
        git=git_info(repo),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        fingerprint=fp.hexdigest(),
        tests=result.tests,
        sequences=result.sequences,
        sequence_items=comps["sequence_item"],
        agents=comps["agent"],
        envs=comps["env"],
        drivers=comps["driver"],
        monitors=comps["monitor"],
        scoreboards=comps["scoreboard"],
        sequencers=comps["sequencer"],
        covergroups=result.covergroups,
        packages=result.packages,
        interfaces=result.interfaces,
        modules=result.modules,
        build=scan.info,
        diagnostics=diagnostics,
        classes=result.classes,
        compile_units=units,
        sim_config=cfg_path,
        rewrites_enabled=cfg.rewrites if cfg is not None else True,
        rewrites_disabled=list(cfg.disable_rewrites) if cfg is not None else [],
        files=records,
    )
    stats = IngestStats(
        files_total=len(sv_entries) + n_extra,
        files_parsed=len(parsed) + extra_parsed,
        cache_hits=len(hits) + extra_hits,
        seconds=round(time.perf_counter() - t0, 4),
    )
    return profile, stats


def ingest(
    repo: Path,
    *,
    name: str | None = None,
    use_cache: bool = True,
    reporter: Reporter = null_reporter,
    sim_config: Path | None = None,
) -> tuple[Profile, IngestStats]:
    """Analyse ``repo`` and save its profile (``sim_config``: a dvsmith.toml elsewhere than the repo root)."""
    profile, stats = analyze_repo(repo, name=name, use_cache=use_cache, reporter=reporter, sim_config=sim_config)
    save_profile(profile)
    return profile, stats


def load_profile(name: str | None = None, *, reporter: Reporter = null_reporter) -> Profile:
    """The named profile (None: the most recently ingested). A corrupt file is rebuilt from its repo."""
    try:
        return read_profile(name)
    except CorruptProfileError as exc:
        reporter(Event("warning", message=f"profile {exc.name!r} is corrupt ({exc.reason}); re-ingesting"))
        if not exc.repo_root or not Path(exc.repo_root).is_dir():
            raise UserInputError(
                f"profile {exc.name!r} is corrupt and its repository is unknown; run `dvsmith ingest`"
            ) from None
        profile, _ = ingest(Path(exc.repo_root), name=exc.name, reporter=reporter)
        return profile


def _relevant(rel: str) -> bool:
    return is_sv(rel) or classify_build_file(rel) is not None


def changed_files(profile: Profile) -> list[str]:
    """Repo files added, removed or changed since the profile was made (stat; hash only on doubt)."""
    repo = Path(profile.repo_root)
    if not repo.is_dir():
        raise UserInputError(f"repository of profile {profile.name!r} is gone: {repo}")
    entries, _ = walk_repo(repo)
    vendored = vendored_uvm_dirs(entries)
    known = {r.path: r for r in profile.files}
    now = {  # an included file of another extension (`include "x.incl"`) counts once the profile has it
        e.rel: e for e in entries
        if (_relevant(e.rel) or e.rel in known) and not any(e.rel.startswith(d + "/") for d in vendored)
    }  # fmt: skip
    changed: list[str] = sorted(set(now) ^ set(known))
    for rel in sorted(set(now) & set(known)):
        e, r = now[rel], known[rel]
        if e.size != r.size:
            changed.append(rel)
        elif e.mtime_ns != r.mtime_ns:
            try:
                if paths.sha256_file(e.path) != r.sha256:
                    changed.append(rel)
            except OSError:
                changed.append(rel)
    return sorted(set(changed))


def refresh_profile(
    profile: Profile, *, use_cache: bool = True, reporter: Reporter = null_reporter
) -> tuple[Profile, IngestStats, list[str]]:
    """Re-stat the profile's repo; re-analyse (incrementally) and save only when something changed."""
    t0 = time.perf_counter()
    changed = changed_files(profile)
    if not changed:
        n = sum(1 for r in profile.files if classify_build_file(r.path) is None)  # every parsed file
        return (
            profile,
            IngestStats(files_total=n, files_parsed=0, cache_hits=n, seconds=round(time.perf_counter() - t0, 4)),
            [],
        )
    reporter(Event("info", message=f"{len(changed)} file(s) changed since ingest; re-analysing"))
    cfg = Path(profile.sim_config) if profile.sim_config else None
    if cfg is not None and cfg == Path(profile.repo_root) / "dvsmith.toml":
        cfg = None
    new, stats = analyze_repo(
        Path(profile.repo_root), name=profile.name, use_cache=use_cache, reporter=reporter, sim_config=cfg
    )
    save_profile(new)
    return new, stats, changed


def iter_sv_files(profile: Profile) -> Iterable[str]:
    return (r.path for r in profile.files if is_sv(r.path))


__all__ = [
    "IngestStats",
    "analyze_repo",
    "changed_files",
    "clear_parse_cache",
    "ingest",
    "load_profile",
    "parse_cache_info",
    "refresh_profile",
]
