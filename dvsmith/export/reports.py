"""What build, validate and eval publish besides their JSON: metrics.prom, a Pushgateway push, JUnit XML.

The CLI calls these after the command's core work; a failed push is a warning (the work itself is done
and written), never a changed exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dvsmith.errors import UserInputError
from dvsmith.export.junit import build_junit, eval_junit, write_junit
from dvsmith.export.prometheus import METRICS_FILE, build_registry, eval_registry, push_metrics, write_metrics
from dvsmith.gym.models import BuildReport
from dvsmith.metrics import Samples


def publish_build(report: BuildReport, samples: Samples | None, *, command: str = "build",
                  metrics_file: Path | None = None, junit: Path | None = None,
                  push: str | None = None) -> list[str]:  # fmt: skip
    """Write metrics (``build``: always ``OUT/metrics.prom``), JUnit, push; returns warnings."""
    warnings: list[str] = []
    registry = build_registry(report, samples, command=command)
    if command == "build" and metrics_file is None:
        metrics_file = Path(report.out_dir) / METRICS_FILE
    if metrics_file is not None:
        write_metrics(metrics_file, registry)
    if junit is not None:
        write_junit(junit, build_junit(report, command=command))
    if push:
        try:
            push_metrics(push, registry, command=command, grouping={"profile": report.profile})
        except UserInputError as exc:
            warnings.append(str(exc))
    return warnings


def publish_eval(results: list[Any], *, gym: str, metrics_file: Path | None = None, junit: Path | None = None,
                 push: str | None = None, wall_s: float = 0.0) -> list[str]:  # fmt: skip
    warnings: list[str] = []
    registry = eval_registry(results, wall_s)
    if metrics_file is not None:
        write_metrics(metrics_file, registry)
    if junit is not None:
        write_junit(junit, eval_junit(results, gym=gym, wall_s=wall_s))
    if push:
        try:
            push_metrics(push, registry, command="eval")
        except UserInputError as exc:
            warnings.append(str(exc))
    return warnings
