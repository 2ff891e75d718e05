"""Warm the compile cache of an exported Harbor image: compile every unit of the gym once.

``python -m dvsmith.export.warm GYM UNITS.json`` (run by the exported Dockerfile). The binaries land in
``DVSMITH_HOME``'s compile cache and the C++ objects in ccache, so a trial does not start from a cold
compile. Exit code 0 even when a unit does not compile (the verifier reports that); 2 for bad input.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import orjson

from dvsmith.analysis.profile import CompileUnit
from dvsmith.gym.validate import gym_unit
from dvsmith.sim.base import CompileRequest, CompileResult, get_adapter


async def warm(gym: Path, units: list[CompileUnit], simulator: str = "verilator") -> list[CompileResult]:
    adapter = get_adapter(simulator)
    results = []
    with tempfile.TemporaryDirectory(prefix="dvsmith-warm-") as work:
        for unit in units:
            req = CompileRequest(repo_root=gym, unit=gym_unit(unit, gym), work_dir=Path(work) / unit.name)
            results.append(await adapter.compile(req))
    return results


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m dvsmith.export.warm GYM UNITS.json", file=sys.stderr)
        return 2
    gym, units_file = Path(argv[0]).resolve(), Path(argv[1])
    units = [CompileUnit.model_validate(u) for u in orjson.loads(units_file.read_bytes())]
    for unit, res in zip(units, asyncio.run(warm(gym, units)), strict=True):
        state = "cached" if res.cached else ("ok" if res.ok else "FAILED")
        print(f"warm compile {unit.name}: {state} in {res.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
