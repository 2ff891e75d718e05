"""Per-file facts + the build scan -> the classified profile content.

The inheritance graph is walked across files (with bases outside the repo, like ``uvm_test``, as
roots); includes are resolved by ``dvsmith.analysis.includes``; compile units and ``in_build`` follow
the build's roots through the include graph.
"""

from __future__ import annotations

import posixpath
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from dvsmith.analysis.buildsys import BuildScan, PathIndex, Root
from dvsmith.analysis.includes import IncludeGraph, nearest
from dvsmith.analysis.profile import (
    ClassDecl,
    CompileUnit,
    ComponentInfo,
    CovergroupInfo,
    Diagnostic,
    NamedFile,
    PackageInfo,
    SequenceInfo,
    Span,
    TestInfo,
)

Facts = dict[str, Any]

_ROOT_KINDS = {
    "uvm_test": "test",
    "uvm_sequence": "sequence",
    "uvm_sequence_base": "sequence",
    "uvm_reg_sequence": "sequence",
    "uvm_sequence_library": "sequence",
    "uvm_reg_frontdoor": "sequence",
    "uvm_sequence_item": "sequence_item",
    "uvm_transaction": "sequence_item",
    "uvm_env": "env",
    "uvm_agent": "agent",
    "uvm_driver": "driver",
    "uvm_push_driver": "driver",
    "uvm_monitor": "monitor",
    "uvm_scoreboard": "scoreboard",
    "uvm_sequencer": "sequencer",
    "uvm_sequencer_base": "sequencer",
    "uvm_sequencer_param_base": "sequencer",
    "uvm_push_sequencer": "sequencer",
}
_SCOREBOARD_NAME = re.compile(r"(scoreboard|scbd|scb|(^|_)sb($|_)|checker|predictor|comparator)", re.IGNORECASE)
_BASE_NAME = re.compile(r"base", re.IGNORECASE)
_VSEQR_NAME = re.compile(r"(virtual|vseqr|vsqr|v_sqr|v_seqr|vsequencer)", re.IGNORECASE)
_OWN_SEQUENCER = {"", "m_sequencer", "this.m_sequencer", "get_sequencer()", "null", "this.get_sequencer()"}
_RUN_METHODS = {"run_phase", "main_phase"}


@dataclass
class Klass:
    """One class found in one file, with what the walk over the graph adds."""

    name: str
    file: str
    facts: dict
    base: Klass | None = None
    chain: list[str] = field(default_factory=list)
    kind: str = "other"
    externs: list[dict] = field(default_factory=list)
    root_args: list[str] = field(default_factory=list)  # parameters given to the external root class
    own_starts: list[str] | None = None
    eff_starts: list[str] | None = None

    @property
    def line(self) -> int:
        return int(self.facts["line"])

    def methods(self) -> set[str]:
        return set(self.facts["methods"]) | {e["method"] for e in self.externs}


class Assembler:
    def __init__(self, facts: dict[str, Facts], scan: BuildScan, index: PathIndex, has_build_files: bool) -> None:
        self.facts = facts
        self.scan = scan
        self.index = index
        self.has_build_files = has_build_files
        self.sv_files = set(facts)
        self.includes = IncludeGraph(facts, scan, index)
        self.diagnostics: list[Diagnostic] = self.includes.diagnostics  # one list, in the order found
        self.pkg_files: dict[str, list[str]] = {}
        self.mod_files: dict[str, list[str]] = {}
        for f, fa in facts.items():
            for p in fa["packages"]:
                self.pkg_files.setdefault(p["name"], []).append(f)
            for m in fa["modules"]:
                self.mod_files.setdefault(m["name"], []).append(f)

    @property
    def includes_of(self) -> dict[str, list[str]]:
        return self.includes.includes_of

    @property
    def included_by(self) -> dict[str, set[str]]:
        return self.includes.included_by

    def include_closure(self, roots: list[str]) -> list[str]:
        return self.includes.closure(roots)

    def include_preorder(self, direct: list[str], seen: set[str]) -> list[str]:
        return self.includes.preorder(direct, seen)

    # ------------------------------------------------------------------ compile units
    def units(self) -> list[CompileUnit]:
        self.includes.settle_for_roots()
        units: list[CompileUnit] = []
        for root in self.scan.roots:
            u = self._unit_from_root(root)
            if u.sources:
                units.append(u)
        self.from_build = bool(units)
        if not units:
            if self.scan.roots:
                self.diagnostics.append(
                    Diagnostic(
                        file=self.scan.roots[0].origin,
                        message="build files name no SystemVerilog source "
                        "found in the repo; compile units derived from top modules",
                    )
                )
            units = self._units_from_tops()
        return units

    def _unit_from_root(self, root: Root) -> CompileUnit:
        sv_sources = [s for s in root.sources if s in self.sv_files]
        closure = self.include_closure(sv_sources)
        closure_set = set(closure)
        # a listed file that another file of the unit includes is compiled through that include
        sources = [s for s in sv_sources if not (self.included_by.get(s, set()) & (closure_set - {s}))]
        sources = self._order(sources)
        return CompileUnit(
            name=root.name,
            root=root.root,
            filelist=root.filelists[0] if root.filelists else None,
            sources=sources,
            incdirs=list(root.incdirs),
            defines=dict(root.defines),
            top_modules=self._tops(closure, root.tops),
            files=sorted(closure_set | set(root.filelists)),
            recipe=root.recipe,
            include_dirs_last=self._incdirs_of(closure, root.name, list(root.incdirs)),
        )

    def _units_from_tops(self) -> list[CompileUnit]:
        instantiated = {i for fa in self.facts.values() for m in fa["modules"] for i in m["instances"]}
        tops = [
            (f, m["name"])
            for f in sorted(self.facts)
            for m in self.facts[f]["modules"]
            if m["run_test"] and m["name"] not in instantiated
        ]
        units: list[CompileUnit] = []
        names: set[str] = set()
        for f, top in tops:
            closure = self._dependency_closure(f)
            closure_set = set(closure)
            sources = [s for s in closure if not (self.included_by.get(s, set()) & (closure_set - {s}))]
            name = top if top not in names else f"{top}_{len(names) + 1}"
            names.add(name)
            units.append(
                CompileUnit(
                    name=name,
                    root=".",
                    sources=self._order(sources),
                    incdirs=self._incdirs_of(closure),
                    top_modules=self._tops(closure, [top]),
                    files=sorted(closure_set),
                )
            )
        if not units:
            files = sorted(self.facts)
            sources = [f for f in files if f not in self.included_by and not f.endswith((".svh", ".vh"))]
            if sources:
                units.append(
                    CompileUnit(
                        name="tb",
                        root=".",
                        sources=self._order(sources),
                        incdirs=self._incdirs_of(files),
                        top_modules=self._tops(files, []),
                        files=files,
                    )
                )
        return units

    def _incdirs_of(self, files: list[str], unit: str = "", own_incdirs: list[str] | None = None) -> list[str]:
        """The folders of the files the unit includes (searched last). An include found only in another
        testbench's ``+incdir+`` folder (neither this unit's nor the including file's, nor above it) is a
        guess: it stays (a ``timescale.v`` is one like another), and a diagnostic names it, for the guessed
        file may be another bench's version (Practical-UVM's spi_ctrl compiled ethernet's sequence library:
        its Makefile's include folders no longer hold one)."""
        dirs: list[str] = []
        in_unit = set(files)
        for f in files:
            if f not in self.included_by:
                continue
            d = posixpath.dirname(f) or "."
            if own_incdirs is not None and d in self.includes.incdir_set and d not in own_incdirs:
                includers = sorted(g for g in self.included_by[f] if g in in_unit)
                homes = {posixpath.dirname(g) or "." for g in includers}
                if includers and not any(d == h or d.startswith(h + "/") or h == "." for h in homes):
                    self.diagnostics.append(Diagnostic(
                        file=includers[0],
                        message=f"unit {unit}: include {posixpath.basename(f)} is in none of its include folders; "
                                f"compiled from {f}, another testbench's include folder (a guess)",
                    ))  # fmt: skip
            if d not in dirs:
                dirs.append(d)
        return dirs

    def _dependency_closure(self, start: str) -> list[str]:
        """Files a top file needs: includes, instantiated modules/interfaces, imported packages."""
        out: list[str] = []
        seen: set[str] = set()
        todo = deque([start])
        while todo:
            f = todo.popleft()
            if f in seen:
                continue
            seen.add(f)
            out.append(f)
            fa = self.facts[f]
            nxt = list(self.includes_of.get(f, []))
            for m in fa["modules"]:
                for inst in m["instances"]:
                    if inst in self.mod_files:
                        nxt.append(nearest(self.mod_files[inst], f, key=lambda c: c))
            pkgs = set(fa["imports"]) | {c["base_scope"] for c in fa["classes"] if c.get("base_scope")}
            for p in sorted(pkgs):
                if p in self.pkg_files:
                    nxt.append(nearest(self.pkg_files[p], f, key=lambda c: c))
            todo.extend(nxt)
        return out

    def _order(self, sources: list[str]) -> list[str]:
        """Stable topological order: a file declaring a package comes before files that use it."""
        provides: dict[str, set[str]] = {}
        requires: dict[str, set[str]] = {}
        for s in sources:
            prov: set[str] = set()
            req: set[str] = set()
            for f in self.include_closure([s]):
                fa = self.facts.get(f)
                if fa is None:
                    continue
                prov |= {p["name"] for p in fa["packages"]}
                req |= set(fa["imports"])
                req |= {c["base_scope"] for c in fa["classes"] if c.get("base_scope")}
            provides[s] = prov
            requires[s] = req - prov
        provider = {}
        for s in sources:
            for p in provides[s]:
                provider.setdefault(p, s)
        deps = {s: {provider[p] for p in requires[s] if p in provider and provider[p] != s} for s in sources}
        out: list[str] = []
        done: set[str] = set()
        visiting: set[str] = set()

        def visit(s: str) -> None:
            if s in done or s in visiting:
                return
            visiting.add(s)
            for d in sorted(deps[s], key=sources.index):
                visit(d)
            visiting.discard(s)
            done.add(s)
            out.append(s)

        for s in sources:
            visit(s)
        return out

    def _tops(self, files: list[str], hints: list[str]) -> list[str]:
        mods: list[dict] = []
        for f in files:
            fa = self.facts.get(f)
            if fa:
                mods += [m for m in fa["modules"] if m["kind"] in ("module", "program")]
        declared = [m["name"] for m in mods]
        if hints:
            found = [h for h in hints if h in declared]
            if found:
                return found
        instantiated = {i for m in mods for i in m["instances"]}
        tops = [m for m in mods if m["name"] not in instantiated]
        tops.sort(key=lambda m: (not m["run_test"], declared.index(m["name"])))
        return list(dict.fromkeys(m["name"] for m in tops))

    # ------------------------------------------------------------------ classes
    def classes(self, units: list[CompileUnit]) -> list[Klass]:
        unit_of: dict[str, int] = {}
        for i, u in enumerate(units):
            for f in u.files:
                unit_of.setdefault(f, i)
        self.unit_of = unit_of
        klasses: list[Klass] = []
        by_name: dict[str, list[Klass]] = {}
        for f in sorted(self.facts):
            for c in self.facts[f]["classes"]:
                k = Klass(name=c["name"], file=f, facts=c)
                klasses.append(k)
                by_name.setdefault(k.name, []).append(k)
        self.by_name = by_name
        # out-of-class method bodies: the class of that name nearest to the definition
        for f in sorted(self.facts):
            for e in self.facts[f]["externs"]:
                cands = by_name.get(e["cls"])
                if cands:
                    owner = self._pick(cands, f)
                    owner.externs.append({**e, "file": f})
        for k in klasses:
            base = k.facts["base"]
            if base and base in by_name:
                cands = [c for c in by_name[base] if c is not k]
                if k.facts.get("base_scope"):
                    scoped = [c for c in cands if c.facts.get("scope") == k.facts["base_scope"]]
                    cands = scoped or cands
                if cands:
                    k.base = self._pick(cands, k.file)
        for k in klasses:
            self._chain(k)
        for k in klasses:
            k.kind = self._kind(k)
        return klasses

    def _pick(self, cands: list[Klass], file: str) -> Klass:
        same = [c for c in cands if c.file == file]
        if same:
            return same[0]
        u = getattr(self, "unit_of", {}).get(file)
        if u is not None:
            in_unit = [c for c in cands if self.unit_of.get(c.file) == u]
            if in_unit:
                cands = in_unit
        return nearest(cands, file)

    def _chain(self, k: Klass) -> None:
        chain: list[str] = []
        seen = {id(k)}
        cur = k
        root_args = list(k.facts["base_args"])
        while True:
            base_name = cur.facts["base"]
            if not base_name:
                break
            chain.append(base_name)
            if cur.base is None or id(cur.base) in seen:
                root_args = list(cur.facts["base_args"])
                break
            seen.add(id(cur.base))
            cur = cur.base
        k.chain = chain
        k.root_args = root_args

    def _kind(self, k: Klass) -> str:
        for name in reversed(k.chain):
            kind = _ROOT_KINDS.get(name)
            if kind:
                return kind
        if not k.chain:
            return "other"
        root = k.chain[-1]
        if root in ("uvm_subscriber", "uvm_component") and _SCOREBOARD_NAME.search(k.name):
            tlm = any(c.facts["tlm"] for c in self._lineage(k))
            if tlm or root == "uvm_subscriber":
                return "scoreboard"
        return "other"

    def _lineage(self, k: Klass) -> list[Klass]:
        out = [k]
        cur = k.base
        while cur is not None and cur not in out:
            out.append(cur)
            cur = cur.base
        return out

    # ------------------------------------------------------------------ sequence starts
    def _var_type(self, k: Klass, var: str, ext: dict | None, method: str) -> str | None:
        if ext is not None:
            if var in ext["assigns"]:
                return ext["assigns"][var]
            if var in ext["locals"]:
                return ext["locals"][var]
        for c in self._lineage(k):
            if var in c.facts["assigns"]:
                return c.facts["assigns"][var]
            for e in c.externs:
                if var in e["assigns"] and e["method"] != method:
                    return e["assigns"][var]
            if var in c.facts["props"]:
                return c.facts["props"][var]
        return None

    def _resolved_starts(self, k: Klass) -> list[tuple[str, str]]:
        """(class name started, sequencer argument) for every start written in ``k`` itself."""
        out: list[tuple[str, str]] = []
        items = [(s, None) for s in k.facts["starts"]] + [(s, e) for e in k.externs for s in e["starts"]]
        for st, ext in items:
            typ = st["type"]
            if not typ and st["var"]:
                typ = self._var_type(k, st["var"], ext, st["method"])
            if typ:
                out.append((typ, st["sqr"]))
        return out

    def own_starts(self, k: Klass) -> list[str]:
        if k.own_starts is None:
            names: list[str] = []
            for typ, _sqr in self._resolved_starts(k):
                cands = self.by_name.get(typ)
                if cands and self._pick(cands, k.file).kind == "sequence" and typ not in names:
                    names.append(typ)
            k.own_starts = names
        return k.own_starts

    def effective_starts(self, k: Klass, depth: int = 0) -> list[str]:
        if k.eff_starts is None:
            names = list(self.own_starts(k))
            if k.base is not None and depth < 50 and not (k.methods() & _RUN_METHODS):
                names += [n for n in self.effective_starts(k.base, depth + 1) if n not in names]
            k.eff_starts = names
        return k.eff_starts

    def is_virtual_sequence(self, k: Klass, depth: int = 0) -> bool:
        """Runs on a virtual sequencer, or starts sub-sequences on other sequencers, or has no item
        type of its own (``uvm_sequence`` / ``uvm_sequence #(uvm_sequence_item)``) and starts other
        sequences. A virtual base makes its subclasses virtual."""
        root = k.chain[-1] if k.chain else ""
        no_item = root == "uvm_sequence" and (not k.root_args or k.root_args[0] == "uvm_sequence_item")
        p_sqr = None
        for c in self._lineage(k):
            p_sqr = c.facts["props"].get("p_sequencer")
            if p_sqr:
                break
        if p_sqr:
            if _VSEQR_NAME.search(p_sqr):
                return True
            cands = self.by_name.get(p_sqr)
            if cands:
                sq = self._pick(cands, k.file)
                if sq.chain and sq.chain[-1] == "uvm_sequencer" and not sq.root_args:
                    return True
        for typ, sqr in self._resolved_starts(k):
            cands = self.by_name.get(typ)
            other_sqr = sqr.replace(" ", "") not in _OWN_SEQUENCER
            if cands and self._pick(cands, k.file).kind == "sequence" and (no_item or other_sqr):
                return True
        if k.base is not None and depth < 50 and k.base.kind == "sequence":
            return self.is_virtual_sequence(k.base, depth + 1)
        return False


def _span(sp: dict | None) -> Span | None:
    return Span(**sp) if sp else None


@dataclass
class Assembled:
    tests: list[TestInfo]
    sequences: list[SequenceInfo]
    components: dict[str, list[ComponentInfo]]
    covergroups: list[CovergroupInfo]
    packages: list[PackageInfo]
    interfaces: list[NamedFile]
    modules: list[NamedFile]
    classes: list[ClassDecl]
    units: list[CompileUnit]
    in_build: set[str]
    includes_of: dict[str, list[str]]
    diagnostics: list[Diagnostic]


def assemble(facts: dict[str, Facts], scan: BuildScan, index: PathIndex, *, has_build_files: bool) -> Assembled:
    a = Assembler(facts, scan, index, has_build_files)
    units = a.units()
    in_build = {f for u in units for f in u.files} if has_build_files and a.from_build else set(facts)
    klasses = a.classes(units)
    unit_names = {i: u.name for i, u in enumerate(units)}
    tests: list[TestInfo] = []
    sequences: list[SequenceInfo] = []
    comps: dict[str, list[ComponentInfo]] = {
        k: [] for k in ("sequence_item", "agent", "env", "driver", "monitor", "scoreboard", "sequencer")
    }
    children: dict[int, list[Klass]] = {}
    for k in klasses:
        if k.base is not None:
            children.setdefault(id(k.base), []).append(k)
    decls: list[ClassDecl] = []
    for k in klasses:
        f = k.facts
        span = _span(f["span"])
        ext_spans = [Span(**e["span"]) for e in k.externs if e["span"] and e["file"] == k.file]
        inb = k.file in in_build
        decls.append(
            ClassDecl(
                name=k.name,
                file=k.file,
                line=k.line,
                base_class=f["base"],
                base_chain=k.chain,
                is_virtual=f["is_virtual"],
                kind=k.kind,
                in_build=inb,
                span=span,
                extern_spans=ext_spans,
                scope=f["scope"],
            )
        )
        if k.kind == "test":
            own = a.own_starts(k)
            child_tests = [c for c in children.get(id(k), []) if c.kind == "test"]
            is_base = f["is_virtual"] or (bool(child_tests) and (bool(_BASE_NAME.search(k.name)) or not own))
            unit = a.unit_of.get(k.file)
            tests.append(
                TestInfo(
                    name=k.name,
                    file=k.file,
                    line=k.line,
                    base_class=f["base"],
                    is_base=is_base,
                    in_build=inb,
                    sequences=a.effective_starts(k),
                    is_virtual=f["is_virtual"],
                    base_chain=k.chain,
                    span=span,
                    extern_spans=ext_spans,
                    compile_unit=unit_names.get(unit) if unit is not None else None,
                )
            )
        elif k.kind == "sequence":
            sequences.append(
                SequenceInfo(
                    name=k.name,
                    file=k.file,
                    line=k.line,
                    base_class=f["base"],
                    is_virtual_sequence=a.is_virtual_sequence(k),
                    in_build=inb,
                    base_chain=k.chain,
                    span=span,
                    extern_spans=ext_spans,
                )
            )
        elif k.kind in comps:
            comps[k.kind].append(ComponentInfo(name=k.name, file=k.file, line=k.line, base_class=f["base"]))
    cgs: list[CovergroupInfo] = []
    pkgs: list[PackageInfo] = []
    ifaces: list[NamedFile] = []
    mods: list[NamedFile] = []
    for file in sorted(facts):
        fa = facts[file]
        for cg in fa["covergroups"]:
            cgs.append(
                CovergroupInfo(
                    name=cg["name"],
                    file=file,
                    line=cg["line"],
                    scope=cg["scope"],
                    coverpoints=cg["coverpoints"],
                    crosses=cg["crosses"],
                )
            )
        for p in fa["packages"]:
            sp = p.get("span")
            direct = [
                inc["resolved"]
                for inc in fa["includes"]
                if "resolved" in inc and (sp is None or sp["start"] <= inc["offset"] < sp["end"])
            ]
            pkgs.append(PackageInfo(name=p["name"], file=file, includes=a.include_preorder(direct, {file})))
        for m in fa["modules"]:
            (ifaces if m["kind"] == "interface" else mods).append(NamedFile(name=m["name"], file=file))
    return Assembled(
        tests=tests,
        sequences=sequences,
        components=comps,
        covergroups=cgs,
        packages=pkgs,
        interfaces=ifaces,
        modules=mods,
        classes=decls,
        units=units,
        in_build=in_build,
        includes_of=a.includes_of,
        diagnostics=a.diagnostics,
    )
