"""Prometheus metrics of a build, a validation or an eval batch (``prometheus_client``).

Written as ``OUT/metrics.prom`` beside ``build.json`` (the node-exporter textfile-collector format,
atomically) and pushed to a Pushgateway with ``--metrics-push URL``. Every number comes from the same
place as the report's: the counters from ``build.json``'s own fields (so they are equal by construction),
the AI latency histogram from the samples the build's p50/p95 are computed from (``dvsmith.metrics``),
the compile and run histograms from every compile's and every run's recorded seconds.

Metrics: ``dvsmith_ai_{calls,retries,failures,cache_hits,fallbacks}_total``, ``dvsmith_ai_tokens_total
{kind}``, ``dvsmith_compiles_total``, ``dvsmith_compile_cache_hits_total``, ``dvsmith_runs_total``,
``dvsmith_tasks_total{status=valid|invalid}``, ``dvsmith_evals_total{result=passed|failed}``; histograms
``dvsmith_ai_latency_seconds``, ``dvsmith_compile_seconds``, ``dvsmith_run_seconds``,
``dvsmith_eval_score``; gauges ``dvsmith_phase_seconds{phase}``, ``dvsmith_wall_seconds``,
``dvsmith_ai_latency_p50_seconds``/``_p95_seconds``, ``dvsmith_ok``. Every series carries the label
``command`` (build|validate|eval).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from dvsmith.errors import UserInputError
from dvsmith.gym.models import BuildReport
from dvsmith.metrics import Samples
from dvsmith.paths import atomic_write_bytes

prometheus_client.disable_created_metrics()  # no *_created series: a textfile is a snapshot

METRICS_FILE = "metrics.prom"
AI_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
COMPILE_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0)
RUN_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
SCORE_BUCKETS = (0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


class _Metrics:
    def __init__(self, command: str) -> None:
        self.registry = CollectorRegistry()
        self.command = command
        self._made: dict[str, Any] = {}  # one family per name, several label sets

    def counter(self, name: str, doc: str, value: float, **labels: str) -> None:
        c = self._made.get(name) or Counter(name, doc, ["command", *labels], registry=self.registry)
        self._made[name] = c
        c.labels(command=self.command, **labels).inc(max(0.0, float(value)))

    def gauge(self, name: str, doc: str, value: float, **labels: str) -> None:
        g = self._made.get(name) or Gauge(name, doc, ["command", *labels], registry=self.registry)
        self._made[name] = g
        g.labels(command=self.command, **labels).set(float(value))

    def histogram(self, name: str, doc: str, values: Iterable[float], buckets: tuple[float, ...]) -> None:
        h = Histogram(name, doc, ["command"], buckets=buckets, registry=self.registry)
        child = h.labels(command=self.command)
        for v in values:
            child.observe(float(v))


def _sim_metrics(m: _Metrics, report: BuildReport) -> None:
    sim = report.sim
    m.counter("dvsmith_compiles", "Compiles asked for (compile-cache hits included).", sim.compiles if sim else 0)
    m.counter("dvsmith_compile_cache_hits", "Compiles served by the compile cache.", sim.compiles_cached if sim else 0)
    m.counter("dvsmith_runs", "Simulation runs (oracle and nop checks).", sim.runs if sim else 0)
    m.histogram("dvsmith_compile_seconds", "Seconds per compile.", (sim.compile_s.values() if sim else []),
                COMPILE_BUCKETS)  # fmt: skip
    runs = [r.wall_s for s in report.tasks for r in (s.oracle, s.nop) if r is not None]
    m.histogram("dvsmith_run_seconds", "Seconds per simulation run.", runs, RUN_BUCKETS)


def build_registry(report: BuildReport, samples: Samples | None = None, *, command: str = "build") -> CollectorRegistry:
    """The metrics of a build (or of a validation: ``command="validate"``) and its samples."""
    m = _Metrics(command)
    ai: dict[str, Any] = report.ai or {}
    for key, doc in (
        ("calls", "AI task calls that reached the API (a retried call counts once)."),
        ("retries", "AI request retries (429/529/5xx/timeouts, invalid answers)."),
        ("failures", "AI task calls that ended without a usable answer."),
        ("cache_hits", "Tasks whose metadata came from the AI response cache."),
        ("fallbacks", "Tasks that got offline metadata because their call failed."),
    ):
        m.counter(f"dvsmith_ai_{key}", doc, ai.get(key, 0) or 0)
    for kind, key in (("in", "tokens_in"), ("out", "tokens_out"), ("cache_read", "cache_read_tokens"),
                      ("cache_write", "cache_write_tokens")):  # fmt: skip
        m.counter("dvsmith_ai_tokens", "AI tokens by kind.", ai.get(key, 0) or 0, kind=kind)
    m.histogram("dvsmith_ai_latency_seconds", "Seconds per AI task call (retries included).",
                samples.get("ai_latency_seconds") if samples else [], AI_LATENCY_BUCKETS)  # fmt: skip
    m.gauge("dvsmith_ai_latency_p50_seconds", "Median AI call latency (as in build.json).", ai.get("p50_latency_s", 0))
    m.gauge("dvsmith_ai_latency_p95_seconds", "95th percentile AI call latency (as in build.json).",
            ai.get("p95_latency_s", 0))  # fmt: skip
    valid = sum(1 for t in report.tasks if t.valid)
    m.counter("dvsmith_tasks", "Tasks by validity.", valid, status="valid")
    m.counter("dvsmith_tasks", "Tasks by validity.", len(report.tasks) - valid, status="invalid")
    _sim_metrics(m, report)
    for phase, seconds in report.phases.items():
        m.gauge("dvsmith_phase_seconds", "Wall seconds per phase.", seconds, phase=phase)
    m.gauge("dvsmith_wall_seconds", "Wall seconds of the command.", report.wall_s)
    m.gauge("dvsmith_ok", "1 when the command succeeded.", 1 if report.ok else 0)
    return m.registry


def eval_registry(results: list[Any], wall_s: float = 0.0) -> CollectorRegistry:
    """The metrics of an eval batch (``EvalResult`` list)."""
    m = _Metrics("eval")
    passed = sum(1 for r in results if r.passed)
    m.counter("dvsmith_evals", "Evaluated jobs by result.", passed, result="passed")
    m.counter("dvsmith_evals", "Evaluated jobs by result.", len(results) - passed, result="failed")
    compiled = [r for r in results if r.compile_log]
    m.counter("dvsmith_compiles", "Compiles asked for (compile-cache hits included).", len(compiled))
    m.counter("dvsmith_compile_cache_hits", "Compiles served by the compile cache.",
              sum(1 for r in compiled if r.compile_cached))  # fmt: skip
    runs = [s.wall_s for r in results for s in r.seeds]
    m.counter("dvsmith_runs", "Simulation runs (one per seed).", len(runs))
    m.histogram("dvsmith_compile_seconds", "Seconds per compile.", [r.compile_s for r in compiled], COMPILE_BUCKETS)
    m.histogram("dvsmith_run_seconds", "Seconds per simulation run.", runs, RUN_BUCKETS)
    m.histogram("dvsmith_eval_score", "Score per evaluated job.", [r.score for r in results], SCORE_BUCKETS)
    m.gauge("dvsmith_wall_seconds", "Wall seconds of the command.", wall_s)
    m.gauge("dvsmith_ok", "1 when the command succeeded.", 1 if results and passed == len(results) else 0)
    return m.registry


def write_metrics(path: Path, registry: CollectorRegistry) -> Path:
    """The textfile-collector format, written atomically (a collector never reads half a file)."""
    atomic_write_bytes(path, generate_latest(registry))
    return path


def push_metrics(url: str, registry: CollectorRegistry, *, command: str, grouping: dict[str, str] | None = None,
                 timeout_s: float = 10.0) -> None:  # fmt: skip
    """PUT the registry to a Pushgateway (job ``dvsmith``, grouped by command and ``grouping``)."""
    try:
        prometheus_client.push_to_gateway(url, job="dvsmith", registry=registry, timeout=timeout_s,
                                          grouping_key={"command": command, **(grouping or {})})  # fmt: skip
    except (OSError, ValueError) as exc:
        raise UserInputError(f"could not push metrics to {url}: {exc}") from None
