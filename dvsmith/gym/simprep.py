"""Sources ready for Verilator: the compatibility rewrites applied to the gym and to a copy of the original.

The same rewrites (``dvsmith.sim.rewrites``) run on the gym (in place: the gym an agent gets compiles
as is under Verilator) and on a copy of the original repository (the repository itself is never
modified) kept at a stable place under dvsmith's simulation cache, so a rebuild hands the same paths
to the compiler and ccache serves it. When no rewrite applies, the original is compiled where it is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, Field

from dvsmith import paths
from dvsmith.analysis.profile import CompileUnit, Profile
from dvsmith.analysis.uvm_flavour import needs_compat
from dvsmith.gym.models import RewriteSettings
from dvsmith.sim.rewrites import RewriteRecord, apply_in_place, copy_tree, rewrite_files


class SimSources(BaseModel):
    original_root: str  # where the original is compiled from (the repo, or its rewritten copy)
    rewrites: list[RewriteRecord] = Field(default_factory=list)  # as made on the original (its file:line)
    gym_rewrites: list[RewriteRecord] = Field(default_factory=list)


def rewrite_settings(profile: Profile) -> RewriteSettings:
    return RewriteSettings(enabled=profile.rewrites_enabled, disabled=list(profile.rewrites_disabled))


def _needs_compat(unit: CompileUnit) -> bool:
    return unit.uvm_flavour != "2017" and needs_compat(unit.uvm_uses)


def _file_groups(units: list[CompileUnit]) -> tuple[list[str], list[str]]:
    """(files of units needing the UVM compatibility import, every other unit file)."""
    compat: set[str] = set()
    plain: set[str] = set()
    for u in units:
        files = set(u.files) | set(u.sources)
        if _needs_compat(u):
            compat |= files
        else:
            plain |= files
    return sorted(compat), sorted(plain - compat)


def rewrite_units(
    root: Path, units: list[CompileUnit], settings: RewriteSettings
) -> tuple[dict[str, bytes], list[RewriteRecord]]:
    """The rewrites of the units' files under ``root`` (the original or the gym), not yet written."""
    if not settings.enabled:
        return {}, []
    compat, plain = _file_groups(units)
    present = [f for f in plain if (root / f).is_file()]
    uvm_1x = {f for u in units if u.uvm_flavour != "2017" for f in (*u.files, *u.sources)}
    changed, records = rewrite_files(root, present, disabled=settings.disabled, uvm_1x_files=uvm_1x)
    if compat:
        ch2, rec2 = rewrite_files(
            root, [f for f in compat if (root / f).is_file()], disabled=settings.disabled, uvm_compat=True
        )
        changed.update(ch2)
        records += rec2
    return changed, sorted(records, key=lambda r: (r.file, r.line, r.name))


def rewrite_tree(root: Path, profile: Profile) -> tuple[dict[str, bytes], list[RewriteRecord]]:
    """The rewrites of ``root`` (the original or the gym) for this profile, not yet written."""
    return rewrite_units(root, list(profile.compile_units), rewrite_settings(profile))


def rewrite_solution(
    gym_root: Path, unit: CompileUnit, settings: RewriteSettings, files: set[str]
) -> list[RewriteRecord]:
    """Rewrite a candidate's ``files`` (already in place in a scratch copy of the gym) as the build
    rewrote the gym: a solution written in the style of the original repository (UVM 1.2's
    ``starting_phase``, a second declaration, ...) compiles as the reference did. The rest of the unit is
    read for context (already rewritten) but not written; nothing of the candidate runs."""
    unit = unit.model_copy(update={"files": sorted(set(unit.files) | files)})
    changed, records = rewrite_units(gym_root, [unit], settings)
    apply_in_place(gym_root, {rel: data for rel, data in changed.items() if rel in files})
    return [r for r in records if r.file in files]


def rewrite_gym(gym_dir: Path, profile: Profile) -> list[RewriteRecord]:
    changed, records = rewrite_tree(gym_dir, profile)
    apply_in_place(gym_dir, changed)
    return records


def prepare_original(repo_root: Path, profile: Profile) -> SimSources:
    """The original as Verilator compiles it: the repo itself, or a rewritten copy of it."""
    changed, records = rewrite_tree(repo_root, profile)
    if not changed:
        return SimSources(original_root=str(repo_root), rewrites=records)
    key = hashlib.sha256(str(repo_root.resolve()).encode()).hexdigest()[:12]
    dst = paths.sim_cache_dir() / "sources" / f"{profile.name}-{key}"
    copy_tree(repo_root, dst)
    apply_in_place(dst, changed)
    return SimSources(original_root=str(dst), rewrites=records)


def uvm_compat_notes(profile: Profile) -> list[str]:
    """What the build adds to compile UVM 1.x units, one line per unit (for build.json and the report)."""
    out: list[str] = []
    for u in profile.compile_units:
        if u.uvm_flavour == "2017":
            continue
        apis = sorted({x.api for x in u.uvm_uses})
        line = f"{u.name}: UVM {u.uvm_flavour} code ({', '.join(apis[:6])}): +define+UVM_ENABLE_DEPRECATED_API"
        if needs_compat(u.uvm_uses):
            line += " and dvsmith_uvm_compat_pkg (uvm_test_done, set_global_timeout, factory) compiled after uvm_pkg"
        out.append(line)
    return out
