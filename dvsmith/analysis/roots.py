"""The repo's testbenches (roots) out of its build files, and the recipe each one is built with.

Each Makefile is asked first (``make -n`` of its targets, in a scratch copy: ``makedry``); when make
prints no simulator command naming sources, its lines are read one by one (``buildsys.Scanner``), as are
scripts, FuseSoC cores and filelists. Several lines compiling the same files are one root.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from pathlib import Path

from dvsmith.analysis import makedry
from dvsmith.analysis.buildsys import (
    FILELIST_EXTS,
    GENERIC_TARGET,
    SIMULATORS,
    BuildFacts,
    BuildScan,
    Root,
    Scanner,
    classify_build_file,
    per_test_plusargs,
    read_text,
    run_plusargs,
    static_tool,
    verilog_exts,
)
from dvsmith.analysis.profile import BuildInfo, Recipe


def _dry_accs(scanner: Scanner, rel: str, run: makedry.DryRun) -> list[tuple[makedry.DryCommand, BuildFacts]]:
    """What each simulator command of one dry run reads."""
    accs: list[tuple[makedry.DryCommand, BuildFacts]] = []
    for c in run.commands:
        acc = BuildFacts()
        if c.cwd:
            scanner.tokens(c.words[1:], rel, 0, [c.cwd, "."], c.cwd, acc, {}, ())
        if posixpath.basename(c.words[0]) in SIMULATORS:  # not ./simv: the tool that built it says
            acc.sims.add(SIMULATORS[posixpath.basename(c.words[0])])
        accs.append((c, acc))
    return accs


def dry_roots(scanner: Scanner, rel: str) -> list[tuple[str, BuildFacts, Recipe]]:
    """Roots of one Makefile as ``make -n`` prints them: [(run folder, what it compiles, recipe)].

    Empty when make is missing or no target printed a simulator command naming sources (the static
    scan is then used). A target that runs one named test (``+UVM_TESTNAME=<name>``) contributes its
    extra defines and plusargs to that test only; a target that runs several named tests, one line each
    (``make all_tests``), gives each test the plusargs of its own lines (``per_test_plusargs``).
    """
    if makedry.make_program() is None:
        return []
    if scanner.shadow is None:
        scanner.shadow = makedry.shadow_copy(scanner.repo)
    text = read_text(scanner.repo / rel)
    per_target: list[tuple[str, list[tuple[makedry.DryCommand, BuildFacts]]]] = []
    seen_outputs: set[tuple[str, ...]] = set()
    both_uvms = makedry.branches_on_uvm_home(text)
    bundled: set[str] = set()  # targets taken in the flow's branch for the simulator's own UVM
    for target in makedry.pick_targets(text):
        accs: list[tuple[makedry.DryCommand, BuildFacts]] = []
        if both_uvms:  # ``ifndef UVM_HOME``: the branch a user with only the simulator runs comes first
            accs = _dry_accs(scanner, rel, makedry.dry_run(scanner.shadow, rel, target, unset=makedry.UVM_VARS))
            if any(a.sources or a.filelists for _, a in accs):
                bundled.add(target or "(default)")
            else:
                accs = []
        if not accs:
            accs = _dry_accs(scanner, rel, makedry.dry_run(scanner.shadow, rel, target))
        key = tuple(c.cwd + "\0" + c.text for c, _ in accs)
        if not key or key in seen_outputs:
            continue
        seen_outputs.add(key)
        per_target.append((target or "(default)", accs))
    # compile commands grouped by what they read
    groups: dict[tuple, list[tuple[str, makedry.DryCommand, BuildFacts]]] = {}
    for target, accs in per_target:
        for c, acc in accs:
            if acc.sources or acc.filelists:
                groups.setdefault((c.cwd, tuple(acc.filelists), tuple(acc.sources)), []).append((target, c, acc))
    out: list[tuple[str, BuildFacts, Recipe]] = []
    # tops named by run commands (vsim work.hvl_top work.hdl_top) of targets that compile nothing
    run_tops: list[str] = []
    for _target, accs in per_target:
        for _c, a in accs:
            if not (a.sources or a.filelists):
                run_tops += [t for t in a.tops if t not in run_tops]
    for (cwd, _fl, _src), members in groups.items():
        targets = {t for t, _, _ in members}
        if len(groups) == 1:  # one testbench: every target's run commands are its own (make simulate)
            targets = {t for t, _ in per_target}
        test_of: dict[str, str | None] = {}
        regressions: set[str] = set()  # targets that run several named tests (``make all_tests``)
        for target, accs in per_target:
            if target in targets:
                names = [a.test_name for _, a in accs if a.test_name]
                test_of[target] = names[0] if len(set(names)) == 1 else None
                if len(set(names)) > 1:
                    regressions.add(target)
        # the flow's generic targets (run, sim, all, ...) with their default TEST are the common recipe;
        # a target of its own that runs one test (``make boot_test``) is that test's
        named = [n for n in test_of.values() if n]
        for target, name in list(test_of.items()):
            if name and (GENERIC_TARGET.fullmatch(target) or named.count(name) > 1):
                test_of[target] = None
        base = [a for t, _, a in members if test_of.get(t) is None] or [a for _, _, a in members]
        common = dict(base[0].defines)
        for a in base[1:]:
            common = {k: v for k, v in common.items() if k in a.defines and a.defines[k] == v}
        first_t, first_c, first = members[0]
        root = BuildFacts(
            filelists=list(first.filelists), sources=list(first.sources), defines=common, sims=set(first.sims),
            sv_all=first.sv_all, sv_exts=list(first.sv_exts),
        )
        origin = f"{rel}:{first_t}" + (" (UVM_HOME unset)" if first_t in bundled else "")
        recipe = Recipe(origin=origin, source="make-dry-run", tool=first_c.words[0], run_dir=cwd,
                        verilog_exts=verilog_exts(first))
        base_targets = [t for t, _ in per_target if t in targets and test_of.get(t) is None and t not in regressions]
        runs: list[tuple[str, list[str]]] = []  # a regression target's run lines, each of one named test
        for target, accs in per_target:
            if target not in targets:
                continue
            for c, a in accs:
                for d in a.incdirs:
                    if d not in root.incdirs:
                        root.incdirs.append(d)
                root.tops += [t for t in a.tops if t not in root.tops]
                if c.text not in recipe.commands and len(recipe.commands) < 12:
                    recipe.commands.append(c.text)
                recipe.timescale = recipe.timescale or a.timescale
            test = test_of.get(target)
            run_plus = [p for _, a in accs for p in a.plusargs]
            if target in regressions:
                runs += [(a.test_name, run_plusargs(c.words[1:])) for c, a in accs if a.test_name]
                continue
            if test is None:
                if not recipe.plusargs and target in base_targets:
                    recipe.plusargs = list(dict.fromkeys(run_plus))
                continue
            compile_defs = next((a.defines for t, _, a in members if t == target), {})
            extra = {k: v for k, v in compile_defs.items() if common.get(k, "\0") != v}
            if extra:
                recipe.test_defines[test] = extra
            plus = [p for p in dict.fromkeys(run_plus) if p not in recipe.plusargs]
            if plus:
                recipe.test_plusargs[test] = plus
        for test, plus in per_test_plusargs(runs).items():
            own = [p for p in plus if p not in recipe.plusargs]
            if own and test not in recipe.test_plusargs:  # a target of the test's own wins
                recipe.test_plusargs[test] = own
        if not root.tops:
            root.tops = list(run_tops)
        root.timescale = recipe.timescale
        out.append((cwd, root, recipe))
    return out


def scan_build(repo: Path, files: list[str]) -> BuildScan:
    """Detect the build system and the roots (testbenches) it compiles."""
    scanner = Scanner(repo, files)
    by_kind: dict[str, list[str]] = {}
    for f in files:
        k = classify_build_file(f)
        if k:
            by_kind.setdefault(k, []).append(f)
    makefiles = sorted(by_kind.get("make", []))
    scripts = sorted(f for k in ("sh", "py", "bat", "tcl", "pl") for f in by_kind.get(k, []))
    cores = sorted(by_kind.get("core", []))
    all_filelists = sorted(by_kind.get("filelist", []))

    roots: list[tuple[str, str, BuildFacts]] = []  # (origin, cwd, acc)
    sims: set[str] = set()
    test_select: str | None = None
    used_makefiles: list[str] = []
    used_scripts: list[str] = []
    recipes: dict[int, Recipe] = {}  # id(acc) -> the recipe it came with
    try:
        for rel in makefiles:
            n0 = len(scanner.diagnostics)
            found, meta = scanner.scan_script(rel, "make")
            n1 = len(scanner.diagnostics)
            sims |= meta.sims
            test_select = test_select or meta.test_select
            dry = dry_roots(scanner, rel) if found or meta.sims else []
            if dry:  # make's own answer replaces the line-by-line reading, and its guesses
                del scanner.diagnostics[n0:n1]
            if found or meta.sims or meta.test_select or dry:
                used_makefiles.append(rel)
            if dry:
                for cwd, acc, recipe in dry:
                    sims |= acc.sims
                    recipes[id(acc)] = recipe
                    roots.append((rel, cwd, acc))
            else:
                roots += [(rel, posixpath.dirname(rel) or ".", a) for a in found]
    finally:
        if scanner.shadow is not None:
            shutil.rmtree(scanner.shadow, ignore_errors=True)
    for rel in scripts:
        kind = classify_build_file(rel) or "sh"
        found, meta = scanner.scan_script(rel, kind)
        sims |= meta.sims
        test_select = test_select or meta.test_select
        if found or meta.sims or meta.test_select:
            used_scripts.append(rel)
        roots += [(rel, posixpath.dirname(rel) or ".", a) for a in found]
    core_roots = []
    for rel in cores:
        acc = scanner.scan_core(rel)
        if acc is not None:
            core_roots.append((rel, posixpath.dirname(rel) or ".", acc))
    roots += core_roots
    # filelists nobody's build line reads: the top ones (not nested in another) are roots of their own
    if not roots:
        nested: set[str] = set()
        for rel in all_filelists:
            acc = BuildFacts()
            scanner.read_filelist(rel, posixpath.dirname(rel) or ".", acc, {}, ())
            nested |= set(acc.filelists[1:])
        for rel in all_filelists:
            if rel in nested:
                continue
            acc = BuildFacts()
            scanner.read_filelist(rel, posixpath.dirname(rel) or ".", acc, {}, ())
            if acc.sources:
                roots.append((rel, posixpath.dirname(rel) or ".", acc))

    # one root per distinct compile (several simulators' lines reading the same files are one)
    merged: dict[tuple, tuple[str, str, BuildFacts]] = {}
    for origin, cwd, acc in roots:
        key = (tuple(acc.filelists), tuple(acc.sources))
        if key not in merged:
            merged[key] = (origin, cwd, acc)
        else:
            m = merged[key][2]
            for d in acc.incdirs:
                if d not in m.incdirs:
                    m.incdirs.append(d)
            for k, v in acc.defines.items():
                m.defines.setdefault(k, v)
            m.tops += [t for t in acc.tops if t not in m.tops]
            for t, plus in acc.test_plusargs.items():
                m.test_plusargs.setdefault(t, plus)
            m.sims |= acc.sims
            m.tools += [t for t in acc.tools if t not in m.tools]
    out_roots: list[Root] = []
    names: set[str] = set()
    for origin, cwd, acc in merged.values():
        if acc.filelists:
            base = posixpath.splitext(posixpath.basename(acc.filelists[0]))[0]
        else:
            base = posixpath.basename(cwd) if cwd != "." else posixpath.splitext(posixpath.basename(origin))[0]
        name = base or "tb"
        if name in names:
            parent = posixpath.basename(posixpath.dirname(acc.filelists[0] if acc.filelists else origin))
            name = f"{parent}_{base}" if parent else base
        n, i = name, 2
        while n in names:
            n, i = f"{name}_{i}", i + 1
        names.add(n)
        out_roots.append(
            Root(
                name=n,
                root=cwd,
                filelists=acc.filelists,
                sources=acc.sources,
                incdirs=acc.incdirs,
                defines=acc.defines,
                tops=acc.tops,
                origin=origin,
                recipe=recipes.get(id(acc))
                or Recipe(
                    origin=origin,
                    source="filelist" if origin.endswith(FILELIST_EXTS) else "static",
                    tool=static_tool(acc),
                    run_dir=cwd,
                    timescale=acc.timescale,
                    plusargs=list(acc.plusargs),
                    test_plusargs=dict(acc.test_plusargs),
                    verilog_exts=verilog_exts(acc),
                ),
            )
        )

    if used_makefiles:
        kind = "makefile"
    elif core_roots:
        kind = "fusesoc"
    elif used_scripts:
        kind = "script"
    elif all_filelists:
        kind = "filelist"
    else:
        kind = "none"
    filelists_used = sorted({f for r in out_roots for f in r.filelists} | scanner.referenced_filelists)
    if not filelists_used:
        filelists_used = all_filelists
    test_var = None
    if test_select:
        m = re.search(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]|\$([A-Za-z_][A-Za-z0-9_]*)", test_select)
        if m:
            test_var = m.group(1) or m.group(2)
    info = BuildInfo(
        kind=kind,  # type: ignore[arg-type]
        files=used_makefiles + [c for c, _, _ in core_roots] + used_scripts,
        filelists=filelists_used,
        simulators=sorted(sims),
        test_select="+UVM_TESTNAME",
        test_var=test_var,
    )
    defines: dict[str, str | None] = {}
    incdirs: list[str] = []
    for r in out_roots:
        for k, v in r.defines.items():
            defines.setdefault(k, v)
        incdirs += [d for d in r.incdirs if d not in incdirs]
    return BuildScan(
        info=info,
        roots=out_roots,
        defines=defines,
        incdirs=incdirs,
        diagnostics=scanner.diagnostics,
        index=scanner.index,
    )
