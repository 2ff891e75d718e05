"""Coverage results -> ``CoverageSummary`` (one model for every simulator).

Verilator writes ``coverage.dat`` (``# SystemC::Coverage-3``): one line per coverage point,
``C '<fields>' <count>``, the fields being key/value pairs each introduced by byte 0x01 and split by
0x02 (``f`` file, ``l`` line, ``n`` column, ``t`` type, ``page``, ``o`` comment, ``h`` hierarchy).

Points are merged over the design hierarchy: the same source point (file, line, column, type, page,
comment) in several instances is one point, covered when any instance hit it. Percentages are
therefore source-level, the same way for the oracle and for a candidate.

Metric names: ``line``, ``branch``, ``expr``, ``toggle``, ``fsm``, ``user`` (``cover property``)
and, from commercial tools, ``statement``, ``condition``, ``assertion`` and ``functional``
(covergroups).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, computed_field

CODE_METRICS = ("line", "branch", "expr", "toggle", "fsm", "user")


class MetricCount(BaseModel):
    """Covered/total points of one metric. ``reported_percent`` overrides the ratio when a tool
    reports a weighted percentage (covergroups) that is not covered/total."""

    model_config = ConfigDict(extra="ignore")

    covered: int = 0
    total: int = 0
    reported_percent: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> float:
        if self.reported_percent is not None:
            return round(self.reported_percent, 4)
        if self.total <= 0:
            return 0.0
        return round(100.0 * self.covered / self.total, 4)

    def add(self, other: MetricCount) -> MetricCount:
        return MetricCount(covered=self.covered + other.covered, total=self.total + other.total)


class CoverageSummary(BaseModel):
    """Coverage per metric, overall and per file (or per design unit/instance for tools that report
    that way). ``functional`` says whether covergroup coverage was measured at all: Verilator ignores
    covergroups, so there it is ``"unsupported"`` and no ``functional`` metric is reported."""

    model_config = ConfigDict(extra="ignore")

    tool: str = "verilator"
    metrics: dict[str, MetricCount] = Field(default_factory=dict)
    files: dict[str, dict[str, MetricCount]] = Field(default_factory=dict)
    functional: str = "unsupported"  # "unsupported" | "measured"
    source: str | None = None  # the file this was read from

    def percent(self, metric: str) -> float | None:
        """Percentage of ``metric``, ``None`` when it has no points (not measured)."""
        m = self.metrics.get(metric)
        if m is None or (m.total <= 0 and m.reported_percent is None):
            return None
        return m.percent

    def as_percent_dict(self) -> dict[str, float]:
        """``{metric: percent}`` for every metric that has points."""
        out: dict[str, float] = {}
        for name in sorted(self.metrics):
            p = self.percent(name)
            if p is not None:
                out[name] = p
        return out

    def restrict(self, files: Iterable[str | Path]) -> CoverageSummary:
        """Only the entries of ``files`` (e.g. the DUT's files, or the testbench's).

        A wanted path matches a recorded one when they are equal or one ends with the other at a path
        component boundary, so repo-relative names match the absolute paths a simulator records.
        Metrics are recomputed from the kept files (a tool's weighted percentages are dropped).
        """
        return self._filtered(files, keep=True)

    def exclude(self, files: Iterable[str | Path]) -> CoverageSummary:
        """Everything but the entries of ``files`` (e.g. without the candidate's own test files)."""
        return self._filtered(files, keep=False)

    def _filtered(self, files: Iterable[str | Path], *, keep: bool) -> CoverageSummary:
        wanted = [PurePosixPath(str(f).replace("\\", "/")).parts for f in files]
        kept: dict[str, dict[str, MetricCount]] = {}
        for name, per in self.files.items():
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if any(_suffix_match(parts, w) for w in wanted if w) == keep:
                kept[name] = per
        return CoverageSummary(
            tool=self.tool,
            metrics=_totals(kept),
            files=kept,
            functional=self.functional,
            source=self.source,
        )


def _suffix_match(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if a == b:
        return True
    a = tuple(p for p in a if p not in (".",))
    b = tuple(p for p in b if p not in (".",))
    n = min(len(a), len(b))
    return n > 0 and a[-n:] == b[-n:] and (len(a) == n or len(b) == n)


def _totals(files: dict[str, dict[str, MetricCount]]) -> dict[str, MetricCount]:
    """Sum covered/total per metric. A metric that only has tool-reported percentages (no counts, e.g.
    a URG dashboard) gets their plain mean as its reported percentage."""
    totals: dict[str, MetricCount] = {}
    reported: dict[str, list[float]] = {}
    for per in files.values():
        for metric, mc in per.items():
            totals[metric] = (
                totals[metric].add(mc) if metric in totals else MetricCount(covered=mc.covered, total=mc.total)
            )
            if mc.total <= 0 and mc.reported_percent is not None:
                reported.setdefault(metric, []).append(mc.reported_percent)
    for metric, values in reported.items():
        if totals[metric].total <= 0:
            totals[metric] = MetricCount(reported_percent=round(sum(values) / len(values), 4))
    return totals


def _metric_of(fields: dict[str, str]) -> str:
    t = fields.get("t")
    if t:
        return t
    page = fields.get("page", "")
    if page.startswith("v_"):
        return page[2:].split("/", 1)[0]
    return "user"


def _add_points(text: str, points: dict[tuple[str, ...], int]) -> None:
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
        fields: dict[str, str] = {}
        for pair in body.split("\x01"):
            if not pair:
                continue
            key, _, value = pair.partition("\x02")
            fields[key] = value
        metric = _metric_of(fields)
        key = (
            fields.get("f", ""),
            metric,
            fields.get("l", ""),
            fields.get("n", ""),
            fields.get("page", ""),
            fields.get("o", ""),
        )
        points[key] = points.get(key, 0) + count


def _summarize(points: dict[tuple[str, ...], int], source: str | None) -> CoverageSummary:
    files: dict[str, dict[str, MetricCount]] = {}
    for (file, metric, *_), count in points.items():
        per = files.setdefault(file, {})
        mc = per.get(metric)
        if mc is None:
            mc = per[metric] = MetricCount()
        mc.total += 1
        if count > 0:
            mc.covered += 1
    return CoverageSummary(tool="verilator", metrics=_totals(files), files=files, source=source)


def parse_coverage_dat_text(text: str, *, source: str | None = None) -> CoverageSummary:
    """Parse the text of a Verilator ``coverage.dat``."""
    points: dict[tuple[str, ...], int] = {}
    _add_points(text, points)
    return _summarize(points, source)


def parse_coverage_dat(path: Path) -> CoverageSummary:
    """Parse a Verilator ``coverage.dat`` file."""
    return parse_coverage_dat_text(path.read_bytes().decode("utf-8", errors="replace"), source=str(path))


def merge_coverage_dat(paths: Iterable[Path]) -> CoverageSummary:
    """Union of several ``coverage.dat`` files of the same binary (several seeds of one test): a point
    is covered when any run hit it."""
    points: dict[tuple[str, ...], int] = {}
    names: list[str] = []
    for path in paths:
        _add_points(path.read_bytes().decode("utf-8", errors="replace"), points)
        names.append(str(path))
    return _summarize(points, ",".join(names) or None)
