"""The extractor of a task's facts: walks the syntax of the reference classes (the test and the sequences
removed with it) and of the rest of the compile unit to fill a ``TaskSpec`` (``dvsmith.gym.spec``).

Nothing here comes from the AI: the AI's answer is checked against these facts (``dvsmith.gym.hints``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pyslang import syntax

from dvsmith.ai.context import lex_features
from dvsmith.analysis.profile import ClassDecl, ComponentInfo, Profile, Span
from dvsmith.analysis.uvm_macros import DO_MARKER, DO_ON_MARKER
from dvsmith.analysis.walker import call_args, name_of, scan_body
from dvsmith.gym.spec import (
    ClassToWrite,
    ConfigSet,
    Define,
    EnvProvides,
    FactoryOverride,
    Output,
    Plusarg,
    RegAccess,
    SequenceStart,
    TaskSpec,
    default_sequence_phase,
)
from dvsmith.gym.spec_syntax import (
    REPORT_MARKER,
    SK,
    dotted,
    dotted_text,
    first_literal,
    node_text,
    spec_parser,
    string_literal,
    type_arg,
    walk,
)
from dvsmith.gym.svtext import is_sv, lex
from dvsmith.paths import closeness, confine

_SYS_OUTPUTS = {"$display", "$write", "$fdisplay", "$fwrite", "$writememh", "$writememb", "$fopen", "$finish", "$stop"}
_REG_OPS = {"write", "read", "mirror", "update", "peek", "poke", "predict", "set", "get", "reset", "randomize",
            "get_mirrored_value", "needs_update", "write_reg", "read_reg"}
_REG_BLOCK_NAMES = {"reg_model", "regmodel", "ral", "ral_model", "rm", "reg_block", "m_regmodel", "m_reg_model",
                    "regs", "reg_blk", "ral_blk"}
_OVERRIDE_FNS = {"set_type_override", "set_inst_override", "set_type_override_by_type",
                 "set_inst_override_by_type", "set_type_override_by_name", "set_inst_override_by_name"}
_CMDLINE_FNS = {"get_arg_value", "get_arg_values", "get_arg_matches"}


class _ClassFacts:
    """Syntax-level facts of one parsed class (its methods, and extern method bodies given with it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.base: str | None = None
        self.props: dict[str, str] = {}
        self.methods: list[str] = []
        self.method_nodes: list[tuple[str, Any]] = []
        self.other_items = 0  # members other than methods, utils macros and properties
        self.constructor_sets: list[str] = []
        self.constructor_other = 0


def _class_facts(tree: Any, name: str) -> _ClassFacts:
    cf = _ClassFacts(name)
    for m in tree.root.members:
        if not isinstance(m, syntax.SyntaxNode):
            continue
        if m.kind == SK.ClassDeclaration and m.name.valueText == name:
            ext = m.extendsClause
            cf.base = name_of(ext.baseName) if ext is not None else None
            for it in m.items:
                if not isinstance(it, syntax.SyntaxNode):
                    continue
                k = it.kind
                if k == SK.ClassPropertyDeclaration and it.declaration.kind == SK.DataDeclaration:
                    t = name_of(it.declaration.type)
                    for d in it.declaration.declarators:
                        if isinstance(d, syntax.SyntaxNode) and t:
                            cf.props[d.name.valueText] = t
                    cf.other_items += 1
                elif k == SK.ClassMethodDeclaration:
                    mname = name_of(it.declaration.prototype.name) or ""
                    cf.methods.append(mname)
                    cf.method_nodes.append((mname, it.declaration))
                elif k == SK.ClassMethodPrototype:
                    cf.methods.append(name_of(it.prototype.name) or "")
                elif k == SK.EmptyMember:
                    continue
                else:
                    cf.other_items += 1
        elif m.kind in (SK.FunctionDeclaration, SK.TaskDeclaration):
            pname = m.prototype.name
            if pname.kind == SK.ScopedName and pname.separator.valueText == "::" and name_of(pname.left) == name:
                cf.method_nodes.append((name_of(pname.right) or "", m))
    for mname, node in cf.method_nodes:
        if mname == "new":
            _constructor(node, cf)
    return cf


def _constructor(node: Any, cf: _ClassFacts) -> None:
    for item in node.items:
        if not isinstance(item, syntax.SyntaxNode):
            continue
        text = node_text(item)
        if item.kind == SK.ExpressionStatement and text.startswith("super.new"):
            continue
        if item.kind == SK.EmptyStatement:
            continue
        if item.kind == SK.ExpressionStatement:
            cf.constructor_sets.append(text.rstrip(";").strip())
        else:
            cf.constructor_other += 1



# ---------------------------------------------------------------------------- the extractor


class SpecExtractor:
    """Facts of every task of one profile; class source is read from ``repo_root`` through profile spans."""

    def __init__(self, profile: Profile, repo_root: Path, gym_removed: Iterable[str] = ()) -> None:
        """``gym_removed``: every class some task removes from the gym (not provided by the gym)."""
        self.profile = profile
        self.gym_removed = set(gym_removed)
        self.repo_root = repo_root
        self._bytes: dict[str, bytes | None] = {}
        self._facts: dict[tuple[str, str], tuple[_ClassFacts, Any]] = {}
        self.classes: dict[str, list[ClassDecl]] = {}
        for c in profile.classes:
            self.classes.setdefault(c.name, []).append(c)
        self.seq_names = {s.name for s in profile.sequences}
        self._env_cache: dict[str, list[dict[str, str]]] = {}

    # ---- source access
    def file_bytes(self, rel: str) -> bytes | None:
        if rel not in self._bytes:
            try:
                self._bytes[rel] = confine(self.repo_root, rel).read_bytes()
            except (OSError, ValueError):
                self._bytes[rel] = None
        return self._bytes[rel]

    def decl(self, name: str, near: str) -> ClassDecl | None:
        cands = self.classes.get(name) or []
        if not cands:
            return None
        return max(cands, key=lambda c: (closeness(c.file, near), -len(c.file), c.file))

    def source(self, decl: ClassDecl) -> str:
        data = self.file_bytes(decl.file)
        if data is None or decl.span is None:
            return ""
        spans: list[Span] = [decl.span, *decl.extern_spans]
        chunks = [data[s.start : s.end] for s in spans if 0 <= s.start < s.end <= len(data)]
        return "\n\n".join(c.decode("utf-8", errors="replace") for c in chunks)

    def facts_of(self, decl: ClassDecl) -> tuple[_ClassFacts, Any]:
        key = (decl.name, decl.file)
        if key not in self._facts:
            tree = spec_parser().parse(self.source(decl), self._defines_for(decl.file))
            self._facts[key] = (_class_facts(tree, decl.name), tree)  # the tree outlives its nodes' uses
        return self._facts[key]

    def _defines_for(self, rel: str) -> list[str]:
        out: list[str] = []
        for u in self.profile.compile_units:
            if rel in u.files or rel in u.sources:
                out += [k if v is None else f"{k}={v}" for k, v in u.defines.items()]
        return sorted(set(out))

    def props_chain(self, cls: str, near: str) -> dict[str, str]:
        """Properties of ``cls`` and of its bases in the repo (nearest declaration wins)."""
        props: dict[str, str] = {}
        seen: set[str] = set()
        cur: str | None = cls
        while cur and cur not in seen and not cur.startswith("uvm_"):
            seen.add(cur)
            d = self.decl(cur, near)
            if d is None:
                break
            cf, _ = self.facts_of(d)
            for k, v in cf.props.items():
                props.setdefault(k, v)
            cur = cf.base or d.base_class
        return props

    def resolve_path(self, cls: str, path: list[str], near: str) -> str | None:
        """The declared class of ``a.b.c`` seen from ``cls`` (None when the chain leaves the repo)."""
        cur = cls
        for part in path:
            if part == "this":
                continue
            t = self.props_chain(cur, near).get(part)
            if t is None:
                return None
            cur = t
        return cur

    def chain_of(self, name: str, near: str) -> list[str]:
        d = self.decl(name, near)
        return list(d.base_chain) if d is not None else []

    # ---- per task
    def extract(
        self,
        test_name: str,
        test_file: str,
        removed: list[tuple[str, str, str]],
        oracle_files: Iterable[str] = (),
    ) -> TaskSpec:
        """Facts of the task whose reference classes are ``removed`` ((name, file, kind), the test first)."""
        test_decl = next((c for c in self.classes.get(test_name, []) if c.file == test_file), None)
        spec = TaskSpec(
            test=test_name,
            base_class=test_decl.base_class if test_decl else None,
            base_chain=list(test_decl.base_chain) if test_decl else [],
        )
        removed_names = {n for n, _, _ in removed}
        oracle = set(oracle_files) | {f for _, f, _ in removed}
        for name, rel, kind in removed:
            decl = next((c for c in self.classes.get(name, []) if c.file == rel), None)
            if decl is None:
                continue
            cf, _tree = self.facts_of(decl)
            text = self.source(decl)
            blocks, lines = lex_features(text)
            spec.classes_to_write.append(
                ClassToWrite(
                    name=name, file=rel, kind=kind, base_class=decl.base_class, lines=lines,
                    constraint_blocks=blocks, methods=[m for m in cf.methods if m],
                )
            )
            if kind == "test":
                spec.test_methods = [m for m in dict.fromkeys(cf.methods) if m and m != "new"]
                spec.constructor_sets = cf.constructor_sets
                trivial = not spec.test_methods and not cf.constructor_sets and not cf.constructor_other
                trivial = trivial and cf.other_items == 0 and len(removed) == 1
                if trivial:
                    spec.trivial = True
                    spec.trivial_reason = (
                        f"`{name}` is an empty subclass of `{decl.base_class}`: no method, property or "
                        "constructor statement beyond super.new"
                    )
            self._scan_class(spec, decl, cf, removed_names)
            spec.defines += self._defines(decl)
        # dedupe defines
        seen: set[tuple[str, str]] = set()
        defs: list[Define] = []
        for d in spec.defines:
            if (d.name, d.file) not in seen:
                seen.add((d.name, d.file))
                defs.append(d)
        spec.defines = defs
        spec.calls_finish = any(o.kind == "$finish" for o in spec.outputs)
        test_info = next((t for t in self.profile.tests if t.name == test_name and t.file == test_file), None)
        own = {s.sequence for s in spec.starts if s.started_by == test_name}
        if test_info is not None:
            spec.inherited_starts = [n for n in test_info.sequences if n not in own]
        spec.provides = self.provides(test_file, removed_names)
        gets = spec.provides.config_gets
        for cs in spec.config_sets:
            cs.read_by_env = sorted({g["in_class"] for g in gets if g["key"] == cs.key})
        self._checked_in(spec, oracle)
        return spec

    def _scan_class(self, spec: TaskSpec, decl: ClassDecl, cf: _ClassFacts, removed: set[str]) -> None:
        near = decl.file
        for mname, node in cf.method_nodes:
            starts: list[dict] = []
            locals_: dict[str, str] = {}
            assigns: dict[str, str] = {}
            scan_body(node, mname, starts, locals_, assigns)
            settings: dict[str, list[str]] = {}
            for n in walk(node):
                if n.kind in (SK.AssignmentExpression, SK.NonblockingAssignmentExpression):
                    parts = dotted(n.left)
                    if len(parts) == 2 and parts[0] in locals_:
                        settings.setdefault(parts[0], []).append(node_text(n))
            for st in starts:
                typ = st["type"] or assigns.get(st["var"] or "") or locals_.get(st["var"] or "")
                if typ is None and st["var"]:
                    typ = self.props_chain(decl.name, near).get(st["var"])
                if not typ:
                    continue
                how = {"macro": "uvm_do_on" if st["sqr"] else "uvm_do"}.get(st["how"], st["how"])
                item_names = {c.name for c in self.profile.sequence_items}
                kind = "sequence" if typ in self.seq_names else ("item" if typ in item_names else "other")
                path = st["sqr"]
                sqr_type = None
                parts = dotted_text(path)
                if parts:
                    sqr_type = self.resolve_path(decl.name, parts, near)
                spec.starts.append(
                    SequenceStart(
                        sequence=typ, kind=kind, sequencer=path, sequencer_type=sqr_type, how=how, started_by=decl.name,
                        method=mname, must_write=typ in removed, settings=settings.get(st["var"] or "", []),
                        file=(self.decl(typ, near).file if self.decl(typ, near) else None),
                    )
                )
            self._scan_calls(spec, decl, mname, node)
        for st in spec.starts:
            if st.how != "default_sequence" or st.sequencer:
                continue
            for cs in spec.config_sets:
                phase = default_sequence_phase(cs)
                if cs.set_by == decl.name and cs.key == "default_sequence":
                    path = cs.path.rsplit(".", 1)[0] if phase else cs.path
                    st.sequencer, st.phase = path, phase
                    parts = dotted_text(path)
                    st.sequencer_type = self.resolve_path(decl.name, parts, near) if parts else None
                    break

    def _scan_calls(self, spec: TaskSpec, decl: ClassDecl, mname: str, body: Any) -> None:
        by = decl.name
        ob = spec.objections
        for n in walk(body):
            k = n.kind
            if k == SK.DelayControl and decl.kind == "test" and mname.endswith("_phase"):
                ob.delays.append(node_text(n))
                continue
            if k != SK.InvocationExpression:
                continue
            left = n.left
            lk = left.kind
            args = call_args(n)
            if lk == SK.SystemName:
                fn = left.systemIdentifier.valueText
                pat = string_literal(args[0]) if args else None
                if fn in ("$value$plusargs", "$test$plusargs") and pat is not None:
                    spec.plusargs.append(
                        Plusarg(name=_plusarg_name(pat), pattern=pat, read_by=by,
                                how="value_plusargs" if fn == "$value$plusargs" else "test_plusargs")
                    )
                elif fn in _SYS_OUTPUTS:
                    ident = ""
                    if fn in ("$fopen", "$writememh", "$writememb") and args:
                        ident = string_literal(args[0]) or node_text(args[0])
                    text = next((s for s in (string_literal(a) for a in args) if s is not None), "")
                    spec.outputs.append(Output(kind=fn, id=ident, text=text, by=by))
                continue
            if lk == SK.IdentifierName:
                fn = left.identifier.valueText
                if fn == REPORT_MARKER and len(args) >= 3:
                    spec.outputs.append(
                        Output(kind=string_literal(args[0]) or "uvm_info", id=string_literal(args[1]) or "",
                               text=first_literal(args[2]) or "", by=by)
                    )
                elif fn in (DO_MARKER, DO_ON_MARKER):
                    pass
                elif fn in ("set_drain_time",) and args:
                    ob.drain_times.append(node_text(args[-1]))
                elif fn in ("set_global_timeout", "set_timeout") and args:
                    ob.timeouts.append(node_text(args[0]))
                continue
            if lk not in (SK.ScopedName, SK.MemberAccessExpression):
                continue
            last = name_of(left) or ""
            if lk == SK.ScopedName and left.separator.valueText == "::" and last in ("set", "get"):
                scope_text = node_text(left.left)
                if ("uvm_config_db" in scope_text or "uvm_resource_db" in scope_text) and last == "set":
                    if len(args) >= 4:
                        key = string_literal(args[2]) or node_text(args[2])
                        typ = scope_text.split("#", 1)[1].strip().strip("()").strip() if "#" in scope_text else ""
                        spec.config_sets.append(
                            ConfigSet(type=typ, context=node_text(args[0]),
                                      path=string_literal(args[1]) or node_text(args[1]),
                                      key=key, value=node_text(args[3]), set_by=by)
                        )
                    continue
            if last in _OVERRIDE_FNS:
                self._override(spec, left, last, args, by)
                continue
            if last in _CMDLINE_FNS and args:
                pat = string_literal(args[0])
                if pat is not None:
                    spec.plusargs.append(Plusarg(name=_plusarg_name(pat), pattern=pat, how="cmdline_processor",
                                                 read_by=by))
                continue
            if last == "raise_objection":
                ob.raised += 1
                if mname not in ob.phases:
                    ob.phases.append(mname)
                continue
            if last == "drop_objection":
                ob.dropped += 1
                continue
            if last == "set_drain_time" and args:
                ob.drain_times.append(node_text(args[-1]))
                continue
            if last in ("set_timeout", "set_global_timeout") and args:
                ob.timeouts.append(node_text(args[0]))
                continue
            if last in _REG_OPS:
                parts = dotted(left)[:-1]
                acc = self._reg_access(decl, parts)
                if acc is not None:
                    reg, fld = acc
                    spec.reg_accesses.append(
                        RegAccess(path=".".join(parts), op=last, reg=reg, field=fld, by=by)
                    )

    def _override(self, spec: TaskSpec, left: Any, fn: str, args: list[Any], by: str) -> None:
        kind: Literal["type", "instance"] = "instance" if "inst" in fn else "type"
        if fn in ("set_type_override", "set_inst_override"):  # X::type_id::set_type_override(Y::get_type()[, path])
            inner = left.left if left.kind == SK.ScopedName else None
            original = name_of(inner.left) if inner is not None and inner.kind == SK.ScopedName else ""
            if not args:
                return
            override = type_arg(args[0])
            path = (string_literal(args[1]) or node_text(args[1])) if kind == "instance" and len(args) > 1 else ""
        else:  # factory.set_*_override_by_*(original, override) / (original, override, path)
            if len(args) < 2:
                return
            if kind == "instance":
                original, override = type_arg(args[0]), type_arg(args[1])
                path = (string_literal(args[2]) or node_text(args[2])) if len(args) > 2 else ""
            else:
                original, override, path = type_arg(args[0]), type_arg(args[1]), ""
        spec.overrides.append(FactoryOverride(kind=kind, original=original or "", override=override, path=path,
                                              set_by=by))

    def _reg_access(self, decl: ClassDecl, parts: list[str]) -> tuple[str, str | None] | None:
        """(register, field) when ``parts`` goes through a register block; None otherwise."""
        if len(parts) < 2:
            return None
        blocks = {c.name for c in self.profile.classes if "uvm_reg_block" in c.base_chain}
        for i, p in enumerate(parts[:-1]):
            typ = self.resolve_path(decl.name, [x for x in parts[: i + 1] if x != "p_sequencer"] or [p], decl.file)
            if p.lower() in _REG_BLOCK_NAMES or (typ is not None and typ in blocks):
                rest = parts[i + 1 :]
                if not rest:
                    return None
                return rest[0], (rest[1] if len(rest) > 1 else None)
        return None

    def _defines(self, decl: ClassDecl) -> list[Define]:
        data = self.file_bytes(decl.file)
        if data is None or decl.span is None:
            return []
        unit_defs: set[str] = set()
        for u in self.profile.compile_units:
            if decl.file in u.files or decl.file in u.sources:
                unit_defs |= set(u.defines)
        out: list[Define] = []
        stack: list[tuple[str, str]] = []
        toks = [t for t in lex(data) if not t.trivia]
        spans = [decl.span, *decl.extern_spans]
        recorded_outer = False
        for i, t in enumerate(toks):
            inside = any(s.start <= t.start < s.end for s in spans)
            if not recorded_outer and t.start >= decl.span.start:
                recorded_outer = True
                for name, kind in stack:
                    if kind == "guard":
                        continue
                    out.append(Define(name=name, directive=kind, file=decl.file, defined_by_build=name in unit_defs))
            if t.kind != "Directive":
                continue
            d = t.text.lstrip("`")
            nxt = toks[i + 1].text if i + 1 < len(toks) and toks[i + 1].kind == "Identifier" else None
            if d == "ifndef" and nxt and _is_guard(toks, i, nxt):
                stack.append(("", "guard"))  # an include guard: `ifndef X / `define X
                continue
            if d in ("ifdef", "ifndef") and nxt:
                stack.append((nxt, d))
                if inside:
                    out.append(Define(name=nxt, directive=d, file=decl.file, defined_by_build=nxt in unit_defs))
            elif d == "elsif" and nxt:
                if stack:
                    stack[-1] = (nxt, "elsif")
                if inside:
                    out.append(Define(name=nxt, directive=d, file=decl.file, defined_by_build=nxt in unit_defs))
            elif d == "endif" and stack:
                stack.pop()
        return out

    # ---- the environment
    def unit_files(self, test_file: str) -> list[str]:
        for u in self.profile.compile_units:
            if test_file in u.files or test_file in u.sources:
                return sorted(set(u.files) | set(u.sources))
        return sorted({c.file for c in self.profile.classes})

    def provides(self, test_file: str, removed: set[str]) -> EnvProvides:
        """What the gym gives the candidate: every class of the unit that no task removes."""
        gone = removed | self.gym_removed
        files = set(self.unit_files(test_file))
        in_unit = [c for c in self.profile.classes if c.file in files]
        seqr = sorted({c.name for c in self.profile.sequencers if c.file in files})
        vseqr = sorted({s.name for s in self.profile.sequencers if s.file in files and self._is_virtual_sequencer(s)})
        gets = self._env_gets(test_file, files, gone)
        return EnvProvides(
            sequencers=seqr,
            virtual_sequencers=vseqr,
            config_gets=gets,
            reg_blocks=sorted({c.name for c in in_unit if "uvm_reg_block" in c.base_chain}),
            base_sequences=sorted({
                s.name for s in self.profile.sequences if s.file in files and s.name not in gone
            }),
        )

    def _is_virtual_sequencer(self, s: ComponentInfo) -> bool:
        """A sequencer whose properties are sequencers (handles to the sub-sequencers)."""
        sqr = {x.name for x in self.profile.sequencers}
        return any(t in sqr or t.startswith("uvm_sequencer") for t in self.props_chain(s.name, s.file).values())

    def _env_gets(self, test_file: str, files: set[str], gone: set[str]) -> list[dict[str, str]]:
        key = test_file + "\0" + ",".join(sorted(gone))
        if key in self._env_cache:
            return self._env_cache[key]
        gets: list[dict[str, str]] = []
        for c in sorted(self.profile.classes, key=lambda c: (c.file, c.name)):
            if c.file not in files or c.name in gone or c.span is None or not is_sv(c.file):
                continue
            cf, _ = self.facts_of(c)
            for _m, node in cf.method_nodes:
                for n in walk(node):
                    if n.kind != SK.InvocationExpression or n.left.kind != SK.ScopedName:
                        continue
                    left = n.left
                    if left.separator.valueText != "::" or name_of(left) != "get":
                        continue
                    scope_text = node_text(left.left)
                    if "uvm_config_db" not in scope_text:
                        continue
                    args = call_args(n)
                    if len(args) < 4:
                        continue
                    typ = scope_text.split("#", 1)[1].strip().strip("()").strip() if "#" in scope_text else ""
                    k = string_literal(args[2]) or node_text(args[2])
                    entry = {"key": k, "type": typ, "in_class": c.name}
                    if entry not in gets:
                        gets.append(entry)
        self._env_cache[key] = gets
        return gets

    def _checked_in(self, spec: TaskSpec, oracle: set[str]) -> None:
        """Which gym files (outside the reference) mention an output's id or message."""
        if not spec.outputs:
            return
        test_file = next((c.file for c in spec.classes_to_write if c.kind == "test"), "")
        stimulus = {c.file for c in self.profile.classes if c.kind in ("test", "sequence")}
        candidates = [
            f for f in (*self.unit_files(test_file), *self.profile.build.files) if f not in oracle and f not in stimulus
        ]
        texts = {f: self.file_bytes(f) for f in dict.fromkeys(candidates)}
        class_names = set(self.classes)
        for o in spec.outputs:  # a class name is no message a checker looks for
            needles = [x for x in (o.id, o.text.split("%", 1)[0].strip()) if len(x) >= 4 and x not in class_names]
            # a whole-word literal search (the needle is a message, not SystemVerilog to parse)
            pats = [re.compile(rb"(?<![A-Za-z0-9_])" + re.escape(n.encode()) + rb"(?![A-Za-z0-9_])") for n in needles]
            o.checked_in = sorted(
                f for f, data in texts.items() if data is not None and any(p.search(data) for p in pats)
            )



def _is_guard(toks: list[Any], i: int, name: str) -> bool:
    """``toks[i]`` is `` `ifndef name`` directly followed by `` `define name``."""
    return (
        i + 3 < len(toks)
        and toks[i + 2].kind == "Directive"
        and toks[i + 2].text == "`define"
        and toks[i + 3].text == name
    )


def _plusarg_name(pattern: str) -> str:
    name = pattern.lstrip("+")
    for sep in ("=", "%"):
        name = name.split(sep, 1)[0]
    return name
