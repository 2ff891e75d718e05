"""The compile hook: lower the covergroups of a compile unit in a copy of its tree, so every Verilator
compile (original, gym, eval alike) measures functional coverage. The source tree is never modified."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from dvsmith import paths
from dvsmith.sim.covergroups.lower import PACKAGE_FILE, lower_tree
from dvsmith.sim.covergroups.model import LoweringResult

if TYPE_CHECKING:
    from dvsmith.sim.base import CompileRequest

COPY_DIR = "fcov_tree"
_INCLUDE_EXTS = (".sv", ".svh", ".v", ".vh")


def _unit_files(root: Path, req: CompileRequest) -> list[Path]:
    unit = req.unit
    files: set[Path] = set()
    for rel in [*unit.sources, *unit.files]:
        try:
            files.add(paths.confine(root, rel))
        except ValueError:
            continue
    folders = [*unit.incdirs, *getattr(unit, "include_dirs_last", [])]
    recipe = getattr(unit, "recipe", None)
    if recipe is not None and getattr(recipe, "run_dir", "."):
        folders.append(recipe.run_dir)  # includes also resolve from the folder the original flow ran in
    for rel in dict.fromkeys(folders):
        try:
            folder = paths.confine(root, rel)
        except ValueError:
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            files.update(Path(dirpath) / n for n in filenames if n.endswith(_INCLUDE_EXTS))
    return sorted(files)


def lower_for_compile(req: CompileRequest, *, uvm: bool = True) -> tuple[CompileRequest, LoweringResult]:
    """(the request to compile instead: the lowered copy in ``work_dir/fcov_tree`` with
    ``dvsmith_fcov_pkg.sv`` first in its sources, what the lowering did)."""
    from dvsmith.sim.lexscan import find_uvm_top

    root = req.repo_root.resolve()
    copy = (req.work_dir / COPY_DIR).resolve()
    if copy.exists():
        shutil.rmtree(copy)
    work = req.work_dir.resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        return {n for n in names if n == ".git" or here / n in (work, copy)}

    shutil.copytree(root, copy, symlinks=True, ignore=ignore)
    files = [copy / f.relative_to(root) for f in _unit_files(root, req)]
    unit = req.unit
    sources: list[Path] = []
    for rel in unit.sources:
        try:
            sources.append(paths.confine(copy, rel))
        except ValueError:
            continue
    top = unit.top_modules[0] if unit.top_modules else find_uvm_top(sources)
    defines = [k if v is None else f"{k}={v}" for k, v in sorted({**unit.defines, **req.extra_defines}.items())]
    result = lower_tree(copy, files, top=top, uvm=uvm, defines=defines)
    new_unit = unit.model_copy(update={"sources": [PACKAGE_FILE, *unit.sources]})
    return req.model_copy(update={"repo_root": copy, "unit": new_unit}), result
