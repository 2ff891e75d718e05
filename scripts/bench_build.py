"""Benchmark of the metadata phase of ``dvsmith build`` against a fake Messages API with latency.

Side by side, in one run, on the same local fake server (no network):
  * ours: one structured call per task, warm-up call then fan-out under a bound (``generate_metadata``);
  * baseline: the old way, six sequential plain calls per test (title, difficulty, description, goal,
    hints, names), one test after the other;
  * ours again with the response cache warm (expected: zero calls).

Usage: .venv/bin/python scripts/bench_build.py [--tests 24] [--latency 0.5] [--concurrency 8] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anthropic
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dvsmith.ai.metadata import AIStats, MetadataRequest, generate_metadata  # noqa: E402
from dvsmith.ai.settings import DEFAULT_MODEL  # noqa: E402
from dvsmith.analysis.ingest import ingest  # noqa: E402
from dvsmith.analysis.profile import Profile  # noqa: E402
from dvsmith.gym.build import BuildOptions, run_build  # noqa: E402
from tests.fakeapi import FakeAPIServer, FakeConfig, make_synthetic_repo, synthetic_requests  # noqa: E402

BASELINE_FIELDS = ("title", "difficulty", "description", "goal", "hints", "covergroups and sequences")


async def metadata_phase(
    profile: Profile, repo_root: Path, requests: list[MetadataRequest], concurrency: int, use_cache: bool
) -> tuple[float, AIStats]:
    """The metadata phase as build runs it; returns (wall seconds, stats)."""
    t0 = time.perf_counter()
    _, stats = await generate_metadata(
        profile, repo_root, requests, provider="anthropic", concurrency=concurrency, use_cache=use_cache
    )
    return time.perf_counter() - t0, stats


async def baseline_phase(requests: list[MetadataRequest]) -> tuple[float, int]:
    """The old way: six sequential calls per test, tests one after another; returns (wall s, calls)."""
    client = anthropic.AsyncAnthropic(max_retries=0)
    calls = 0
    t0 = time.perf_counter()
    try:
        for req in requests:
            for fld in BASELINE_FIELDS:
                await client.messages.create(
                    model=DEFAULT_MODEL,
                    max_tokens=256,
                    messages=[{"role": "user", "content": f"Test class: {req.test_name}\nWrite the {fld}."}],
                )
                calls += 1
    finally:
        await client.close()
    return time.perf_counter() - t0, calls


async def run(n_tests: int, latency: float, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dvsmith-bench-") as tmp:
        tmp_path = Path(tmp)
        os.environ["DVSMITH_HOME"] = str(tmp_path / "home")
        profile = make_synthetic_repo(tmp_path / "repo", n_tests)
        requests = synthetic_requests(profile)
        with FakeAPIServer(FakeConfig(latency=latency)) as server:
            os.environ["ANTHROPIC_BASE_URL"] = server.base_url
            os.environ["ANTHROPIC_API_KEY"] = "sk-test-bench-dummy-key"

            ours_s, stats = await metadata_phase(profile, tmp_path / "repo", requests, concurrency, False)
            ours_calls = server.request_count
            ours_max_in_flight = server.max_in_flight

            server.reset()
            cached_s, cached_stats = await metadata_phase(profile, tmp_path / "repo", requests, concurrency, True)
            cached_calls = server.request_count

            # the whole `dvsmith build` (real ingest of the synthetic repo, then every phase), cold AI cache
            server.reset()
            ingest(tmp_path / "repo", name="bench", use_cache=False)
            t0 = time.perf_counter()
            report = await run_build(
                BuildOptions(name="bench", out=tmp_path / "out", provider="anthropic", concurrency=concurrency,
                             use_cache=False)
            )  # fmt: skip
            build_s = time.perf_counter() - t0
            build_calls = server.request_count

            # the same build as a user runs it: a whole `dvsmith build` process (start-up, imports, report)
            server.reset()
            env = {**os.environ, "DVSMITH_HOME": str(tmp_path / "home-process")}
            subprocess.run([sys.executable, "-m", "dvsmith", "ingest", str(tmp_path / "repo"), "--name", "bench"],
                           env=env, capture_output=True, check=True)  # fmt: skip
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "dvsmith", "build", "bench", "--provider", "anthropic", "--concurrency",
                 str(concurrency), "--out", str(tmp_path / "out-process"), "--json"],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            process_s = time.perf_counter() - t0
            process_calls = server.request_count
            process_phases = orjson.loads(proc.stdout).get("phases", {}) if proc.returncode in (0, 1) else {}

            server.reset()
            base_s, base_calls = await baseline_phase(requests)
    return {
        "tests": n_tests,
        "latency_s": latency,
        "concurrency": concurrency,
        "ours": {
            "wall_s": round(ours_s, 3),
            "calls": ours_calls,
            "max_in_flight": ours_max_in_flight,
            "cache_write_tokens": stats.cache_write_tokens,
            "cache_read_tokens": stats.cache_read_tokens,
            "p50_latency_s": stats.p50_latency_s,
            "p95_latency_s": stats.p95_latency_s,
        },
        "ours_cached": {
            "wall_s": round(cached_s, 3),
            "calls": cached_calls,
            "cache_hits": cached_stats.cache_hits,
        },
        "build": {
            "wall_s": round(build_s, 3),
            "calls": build_calls,
            "tasks": len(report.tasks),
            "metadata_s": report.phases.get("metadata"),
            "phases": report.phases,
            "ok": report.ok,
        },
        "process": {
            "wall_s": round(process_s, 3),
            "calls": process_calls,
            "phases": process_phases,
            "ideal_s": round(latency * (1 + -(-(n_tests - 1) // concurrency)), 3),  # L·(1+⌈(N−1)/C⌉)
        },
        "baseline": {"wall_s": round(base_s, 3), "calls": base_calls},
        "speedup": round(base_s / ours_s, 1) if ours_s > 0 else None,
        "call_ratio": round(base_calls / ours_calls, 1) if ours_calls else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.tests, args.latency, args.concurrency))
    if args.json:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    ours, base, cached = result["ours"], result["baseline"], result["ours_cached"]
    print(f"metadata phase: {args.tests} tests, fake API latency {args.latency} s, concurrency {args.concurrency}")
    print(f"  ours     : {ours['wall_s']:8.2f} s  {ours['calls']:4d} calls  (max in flight {ours['max_in_flight']})")
    print(f"  baseline : {base['wall_s']:8.2f} s  {base['calls']:4d} calls  (6 sequential calls per test)")
    print(f"  rerun    : {cached['wall_s']:8.2f} s  {cached['calls']:4d} calls  (response cache)")
    b = result["build"]
    print(
        f"  build    : {b['wall_s']:8.2f} s  {b['calls']:4d} calls  (whole `dvsmith build`, {b['tasks']} tasks, "
        f"metadata phase {b['metadata_s']:.2f} s, ok={b['ok']})"
    )
    pr = result["process"]
    print(
        f"  process  : {pr['wall_s']:8.2f} s  {pr['calls']:4d} calls  (a `dvsmith build` subprocess; "
        f"L*(1+ceil((N-1)/C)) = {pr['ideal_s']:.2f} s, over it by {pr['wall_s'] - pr['ideal_s']:.2f} s)"
    )
    print(f"  build vs baseline: {base['wall_s'] / b['wall_s']:.1f}x")
    print(f"  speedup  : {result['speedup']}x wall time, {result['call_ratio']}x fewer calls")


if __name__ == "__main__":
    main()
