"""``dvsmith doctor REPO``: does this repository compile under Verilator the way a build compiles it?

Ingests the repository (cached), then runs a build with the offline provider (no AI call) into a private
temporary folder that is removed afterwards: per compile unit the original (with dvsmith's Verilator
rewrites) and the gym are compiled, and each failed compile carries its diagnosis, one line per cause
class (``dvsmith.sim.diagnose``). The compiles land in the compile cache, so a later ``build`` of the same
code reuses them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from dvsmith.analysis.ingest import ingest
from dvsmith.events import Reporter, null_reporter
from dvsmith.gym.build import BuildOptions, run_build


class UnitCheck(BaseModel):
    unit: str
    tree: str  # "original" | "gym"
    ok: bool
    seconds: float = 0.0
    causes: list[str] = Field(default_factory=list)  # one line per cause class of a failed compile
    command: list[str] = Field(default_factory=list)


class CheckReport(BaseModel):
    profile: str
    repo_root: str
    tests: int
    compiles: list[UnitCheck]
    tasks_valid: int
    tasks: int
    invalid: dict[str, str] = Field(default_factory=dict)  # task id -> reason

    @property
    def ok(self) -> bool:
        return bool(self.compiles) and all(c.ok for c in self.compiles)


async def check_repo(
    repo: Path,
    *,
    name: str | None = None,
    uvm_home: Path | None = None,
    units: list[str] | None = None,
    reporter: Reporter = null_reporter,
) -> CheckReport:
    """``units``: compile only these units (the tests of the others get no task)."""
    profile, _ = ingest(repo, name=name, reporter=reporter)
    with tempfile.TemporaryDirectory(prefix="dvsmith-check-") as tmp:
        report = await run_build(
            BuildOptions(name=profile.name, out=Path(tmp) / "out", provider="offline", sim="verilator",
                         uvm_home=uvm_home, units=list(units or [])),
            reporter,
        )  # fmt: skip
    sim = report.sim
    compiles: list[UnitCheck] = []
    if sim is not None:
        for key, ok in sim.compile_ok.items():
            tree, _, unit = key.partition(":")
            causes = list(sim.compile_diagnosis.get(key, []))
            if not ok and not causes:
                causes = list(sim.compile_errors.get(key, []))[:3]
            compiles.append(
                UnitCheck(unit=unit, tree=tree, ok=ok, seconds=sim.compile_s.get(key, 0.0), causes=causes,
                          command=list(sim.compile_commands.get(key, [])))
            )  # fmt: skip
    compiles.sort(key=lambda c: (c.unit, c.tree != "original"))
    return CheckReport(
        profile=profile.name,
        repo_root=str(profile.repo_root),
        tests=len(profile.tests),
        compiles=compiles,
        tasks_valid=sum(1 for t in report.tasks if t.valid),
        tasks=len(report.tasks),
        invalid={t.id: t.invalid_reason or "" for t in report.tasks if not t.valid},
    )
