"""Results of lowered covergroups: parse the JSON a run writes, derive ``functional`` targets from the
oracle's run and measure a candidate against them.

The rule (the same as for code coverage): per covergroup type the oracle's bin set is the set of
regular bins its run reported (merged over instances); the target is ``fraction`` (90%) of the bins the
oracle covered; a candidate's achieved value is the bins of that set it covered. Bins the oracle's set
does not hold count for nothing. A covergroup the lowering could not handle, or whose run reported an
unsupported part (e.g. automatic bins of an enum), gets no target: it is listed, not scored as 0%.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from dvsmith.sim.acceptance import Acceptance, CoverageTarget
from dvsmith.sim.coverage import CoverageSummary, MetricCount
from dvsmith.sim.covergroups.model import FcovResults, Unsupported
from dvsmith.sim.covergroups.runtime import FORMAT

METRIC_PREFIX = "functional:"
FUNCTIONAL_WEIGHT = 2.0


def parse_results_text(text: str, *, source: str | None = None) -> FcovResults:
    """Parse the JSON ``dvsmith_fcov_pkg::write_all`` wrote. Raises ``ValueError`` when it is not one."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not a functional coverage file: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a dvsmith functional coverage file (format field)")
    out = FcovResults.model_validate(
        {
            "format": data["format"],
            "instances": [
                {**inst, "points": [
                    {**p, "bins": [{"name": b[0], "kind": b[1], "hits": b[2]} for b in p.get("bins", [])]}
                    for p in inst.get("points", [])
                ]}
                for inst in data.get("instances", [])
            ],
        }
    )  # fmt: skip
    out.source = source
    return out


def load_results(path: Path) -> FcovResults | None:
    """The results file of a run, ``None`` when it is missing or unreadable (the run did not end)."""
    try:
        return parse_results_text(path.read_bytes().decode("utf-8", errors="replace"), source=str(path))
    except (OSError, ValueError):
        return None


def functional_targets(
    oracle: FcovResults | None,
    unsupported: list[Unsupported] | None = None,
    *,
    fraction: float = 0.9,
    weight: float = FUNCTIONAL_WEIGHT,
) -> tuple[list[CoverageTarget], dict[str, list[str]], list[str]]:
    """(targets ``functional:<scope::covergroup>``, the oracle's bin set per covergroup, notes)."""
    targets: list[CoverageTarget] = []
    bins: dict[str, list[str]] = {}
    notes: list[str] = []
    for u in sorted(unsupported or [], key=lambda u: (u.covergroup, u.file, u.line)):
        if u.covergroup == "*":  # the lowering itself failed (see VerilatorAdapter.compile)
            notes.append(f"{u.what}: no covergroup is scored")
            continue
        notes.append(f"covergroup {u.covergroup} is not scored: {u.what} is not supported ({u.file}:{u.line})")
    if oracle is None:
        return targets, bins, notes
    runtime_bad = oracle.unsupported()
    for type_name in oracle.types():
        if type_name in runtime_bad:
            notes.append(f"covergroup {type_name} is not scored: {'; '.join(runtime_bad[type_name])}")
            continue
        covered, every = oracle.covered_bins(type_name)
        if not every or not covered:
            continue
        pct = 100.0 * len(covered) / len(every)
        bins[type_name] = sorted(every)
        targets.append(
            CoverageTarget(
                metric=METRIC_PREFIX + type_name, oracle=round(pct, 4), target=round(fraction * pct, 4), weight=weight
            )
        )
    return targets, bins, notes


def covergroup_report(lowered: list[str], unsupported: list[Unsupported]) -> dict[str, Any]:
    """What build.json says about a compile's covergroups: lowered (measured) and not (not scored)."""
    return {
        "lowered": sorted(lowered),
        "unsupported": [
            {"covergroup": u.covergroup, "file": u.file, "line": u.line, "construct": u.what, "text": u.text}
            for u in sorted(unsupported, key=lambda u: (u.covergroup, u.file, u.line))
        ],
    }


def apply_functional_targets(
    acceptance: Acceptance,
    oracle: FcovResults | None,
    unsupported: list[Unsupported] | None = None,
) -> Acceptance:
    """``acceptance`` with the functional targets of the oracle's run added (and the notes saying what
    is not scored)."""
    targets, bins, notes = functional_targets(oracle, unsupported, fraction=acceptance.coverage_fraction)
    acceptance.coverage = [t for t in acceptance.coverage if not t.metric.startswith(METRIC_PREFIX)] + targets
    acceptance.functional_bins = bins
    if targets:
        acceptance.functional_coverage = "measured"
    acceptance.notes = [n for n in acceptance.notes if "functional (covergroup)" not in n or not targets] + notes
    return acceptance


def functional_metrics(results: FcovResults | None, acceptance: Acceptance) -> dict[str, MetricCount]:
    """Per covergroup with a target: bins of the oracle's set the run covered / the set's size."""
    out: dict[str, MetricCount] = {}
    for type_name, every in acceptance.functional_bins.items():
        covered: set[str] = results.covered_bins(type_name)[0] if results is not None else set()
        out[METRIC_PREFIX + type_name] = MetricCount(covered=len(covered & set(every)), total=len(every))
    return out


def add_functional(
    coverage: CoverageSummary | None, results: FcovResults | None, acceptance: Acceptance
) -> CoverageSummary | None:
    """``coverage`` with the ``functional:<covergroup>`` metrics of a run added (a new summary)."""
    metrics = functional_metrics(results, acceptance)
    if not metrics:
        return coverage
    base = coverage or CoverageSummary(tool="verilator")
    return base.model_copy(update={"metrics": {**base.metrics, **metrics}, "functional": "measured"})
