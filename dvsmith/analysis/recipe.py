"""After classification: the compile units' recipes finished with what only the whole profile knows.

- ``dvsmith.toml`` overrides (``simconfig``) are applied;
- each unit's UVM flavour is detected (``uvm_flavour``);
- a test whose own make target adds defines gets a compile variant of its unit (one per distinct define
  set; the test's ``compile_unit`` names it); tests without such defines share the unit;
- every test's run-time plusargs (the unit's common ones, then its own) land on ``TestInfo.plusargs``.
"""

from __future__ import annotations

import hashlib
import posixpath
from pathlib import Path

from dvsmith.analysis import uvm_flavour
from dvsmith.analysis.profile import CompileUnit, Recipe, TestInfo
from dvsmith.analysis.simconfig import SimConfig

MAX_USES_PER_API = 5


def _apply_config(unit: CompileUnit, cfg: SimConfig) -> None:
    recipe = unit.recipe or Recipe(origin=unit.filelist or "", run_dir=unit.root)
    if cfg.run_dir:
        recipe.run_dir = posixpath.normpath(cfg.run_dir)
        unit.root = recipe.run_dir
    unit.incdirs += [posixpath.normpath(d) for d in cfg.incdirs if posixpath.normpath(d) not in unit.incdirs]
    unit.defines.update(cfg.define_map())
    unit.sources = [*(posixpath.normpath(f) for f in cfg.files), *(s for s in unit.sources if s not in cfg.files)]
    unit.files = sorted(set(unit.files) | {posixpath.normpath(f) for f in cfg.files})
    if cfg.top_modules:
        unit.top_modules = list(cfg.top_modules)
    recipe.plusargs += [p for p in cfg.plusargs if p not in recipe.plusargs]
    for name, t in cfg.tests.items():
        if t.plusargs:
            recipe.test_plusargs[name] = [*recipe.test_plusargs.get(name, []), *t.plusargs]
        if t.defines:
            recipe.test_defines[name] = {**recipe.test_defines.get(name, {}), **cfg.define_map(t.defines)}
    if recipe.source == "static" and not unit.recipe:
        recipe.source = "config"
    unit.recipe = recipe


def finish_units(
    repo: Path,
    units: list[CompileUnit],
    tests: list[TestInfo],
    cfg: SimConfig | None,
    uvm_uses: dict[str, list[dict]] | None = None,
) -> list[CompileUnit]:
    """The units (with per-test define variants appended); ``tests`` are updated in place.
    ``uvm_uses``: each parsed file's 1.x uses from its facts (files not in it are lexed here)."""
    out: list[CompileUnit] = []
    for unit in units:
        if cfg is not None and (cfg.unit is None or cfg.unit == unit.name):
            _apply_config(unit, cfg)
        if unit.recipe is None:
            unit.recipe = Recipe(origin=unit.filelist or "", run_dir=unit.root)
        uses = uvm_flavour.scan_files(repo, unit.files, uvm_uses)
        unit.uvm_flavour = uvm_flavour.flavour_of(uses)  # type: ignore[assignment]
        per_api: dict[str, int] = {}
        unit.uvm_uses = []
        for u in uses:  # evidence, not an inventory: the first few uses of each API
            per_api[u.api] = per_api.get(u.api, 0) + 1
            if per_api[u.api] <= MAX_USES_PER_API:
                unit.uvm_uses.append(u)
        out.append(unit)
    variants: list[CompileUnit] = []
    for unit in out:
        recipe = unit.recipe
        assert recipe is not None
        members = [t for t in tests if t.compile_unit == unit.name]
        by_set: dict[tuple, str] = {}
        for t in members:
            own = [p for p in recipe.test_plusargs.get(t.name, []) if p not in recipe.plusargs]
            t.plusargs = [*recipe.plusargs, *own]
            extra = recipe.test_defines.get(t.name)
            if not extra:
                continue
            key = tuple(sorted((k, v) for k, v in extra.items()))
            if key not in by_set:
                digest = hashlib.sha256(repr(key).encode()).hexdigest()[:8]
                name = f"{unit.name}+{digest}"
                variants.append(
                    unit.model_copy(deep=True, update={"name": name, "defines": {**unit.defines, **extra},
                                                       "variant_of": unit.name})
                )  # fmt: skip
                by_set[key] = name
            t.compile_unit = by_set[key]
    return out + variants
