"""Coverage scored on the oracle's point set (issue 9, item 2).

A candidate's ``coverage.dat`` is written by a binary the candidate's code is part of: its own code adds
points (and a ``bind``/`` `line `` could record them under the DUT's file). So a candidate's coverage
counts only points of the *original*: at build time the set of every point of the original's compile
(its key ``(file, line, column, type, page, comment)`` and the design hierarchies that hold it) is stored
in ``OUT/coverage/<unit>.points.json`` (its sha256 in each task's acceptance). At eval a point counts as
covered when its key and one of the original's hierarchies for it were hit in the candidate's run;
totals are the original's. Points the candidate adds count for nothing.

File names are stored relative to the compile root. A binary may come from the compile cache, built in
another folder, so a recorded absolute path is matched to a unit file by its longest path suffix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import orjson
from pydantic import BaseModel, ConfigDict, Field

from dvsmith.paths import atomic_write_bytes
from dvsmith.sim.coverage import CoverageSummary, MetricCount, _metric_of, _totals

POINTS_FORMAT = "dvsmith-coverage-points-1"

Key = tuple[str, str, str, str, str, str]  # (file, metric, line, column, page, comment)


class PointSet(BaseModel):
    """Every coverage point of one compile of the original: key -> the hierarchies that hold it."""

    model_config = ConfigDict(extra="ignore")

    format: str = POINTS_FORMAT
    unit: str = ""
    points: list[tuple[str, str, str, str, str, str, list[str]]] = Field(default_factory=list)

    def table(self) -> dict[Key, frozenset[str]]:
        return {(f, m, ln, col, page, comment): frozenset(h) for f, m, ln, col, page, comment, h in self.points}


def _fields(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in body.split("\x01"):
        if pair:
            key, _, value = pair.partition("\x02")
            fields[key] = value
    return fields


def _relative(name: str, known: Iterable[str], memo: dict[str, str | None]) -> str | None:
    """The unit file (relative) a recorded path names: the longest suffix match, or None."""
    if name in memo:
        return memo[name]
    parts = PurePosixPath(name.replace("\\", "/")).parts
    best: str | None = None
    for rel in known:
        rp = PurePosixPath(rel).parts
        if rp and len(rp) <= len(parts) and parts[-len(rp) :] == rp and (best is None or len(rp) > len(best)):
            best = rel
    memo[name] = best
    return best


def read_points(text: str, known: Iterable[str]) -> dict[tuple[Key, str], int]:
    """``(key, hierarchy) -> count`` for every point of a ``coverage.dat`` in one of the ``known`` files
    (relative paths; other files, e.g. the UVM library, are left out)."""
    files = sorted(set(known))
    memo: dict[str, str | None] = {}
    out: dict[tuple[Key, str], int] = {}
    for raw in text.splitlines():
        if not raw.startswith("C '"):
            continue
        body, sep, count_text = raw[3:].rpartition("' ")
        if not sep:
            continue
        try:
            count = int(count_text.strip())
        except ValueError:
            continue
        f = _fields(body)
        rel = _relative(f.get("f", ""), files, memo)
        if rel is None:
            continue
        key: Key = (rel, _metric_of(f), f.get("l", ""), f.get("n", ""), f.get("page", ""), f.get("o", ""))
        hk = (key, f.get("h", ""))
        out[hk] = out.get(hk, 0) + count
    return out


def read_points_file(path: Path, known: Iterable[str]) -> dict[tuple[Key, str], int]:
    return read_points(path.read_bytes().decode("utf-8", errors="replace"), known)


def point_set(points: Iterable[tuple[Key, str]], unit: str) -> PointSet:
    table: dict[Key, set[str]] = {}
    for key, hier in points:
        table.setdefault(key, set()).add(hier)
    return PointSet(unit=unit, points=[(*k, sorted(h)) for k, h in sorted(table.items())])


def write_point_set(path: Path, ps: PointSet) -> str:
    """Write ``ps`` atomically; returns the sha256 of what was written."""
    data = orjson.dumps(ps.model_dump(mode="json"))
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def load_point_set(path: Path, sha256: str | None) -> PointSet:
    """Read a point set; ``ValueError`` when it is missing, corrupt, or not the file the build wrote."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"coverage point set {path} cannot be read ({exc.strerror})") from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"coverage point set {path} changed since the build")
    ps = PointSet.model_validate_json(data)
    if ps.format != POINTS_FORMAT:
        raise ValueError(f"coverage point set {path} has format {ps.format!r}, not {POINTS_FORMAT!r}")
    return ps


def summarize_on(
    hits: dict[tuple[Key, str], int],
    reference: dict[Key, frozenset[str]],
    files: Iterable[str] | None = None,
    *,
    source: str | None = None,
) -> CoverageSummary:
    """Coverage of a run measured on the ``reference`` points (restricted to ``files`` when given): a
    reference key is covered when it was hit in one of the hierarchies the reference has for it."""
    wanted = set(files) if files is not None else None
    covered_keys = {key for (key, hier), count in hits.items() if count > 0 and hier in reference.get(key, ())}
    per_file: dict[str, dict[str, MetricCount]] = {}
    for key in reference:
        file, metric = key[0], key[1]
        if wanted is not None and file not in wanted:
            continue
        mc = per_file.setdefault(file, {}).setdefault(metric, MetricCount())
        mc.total += 1
        if key in covered_keys:
            mc.covered += 1
    return CoverageSummary(tool="verilator", metrics=_totals(per_file), files=per_file, source=source)
