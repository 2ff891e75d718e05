"""Verilator compatibility rewrites: small, named transforms on the pyslang syntax tree.

Each rewrite is a class that registers itself (``REGISTRY``) by subclassing ``Rewrite``; it looks at one
file's syntax tree and returns byte-range edits, each with the line and a one-line account of what it
changes. ``rewrite_text`` applies every enabled rewrite to one file; ``rewrite_tree`` applies them to the
files of a tree, writing the results (the same transforms run on the original's copy and on the gym, so
both compile the same way). Only bytes of the file itself are edited (never text a macro produced);
edits that overlap an earlier one are dropped. A lowering pass (e.g. covergroups) can register here too.

Rewrites shipped:

- ``defparam_array``: ``defparam u[0].P = v;`` on an instance array → ``#(.P(v))`` on the instantiation
  (only when every defparam on that array sets P to the same value); ``defparam g[k].u.P = v;`` on an
  instance in a ``for`` generate block → ``#(.P((i == k) ? (v) : (<default>)))``. Verilator rejects both
  (``Unsupported: defparam with arrayed instance``).
- ``interface_task_automatic``: a static task of an interface with an unpacked-struct argument and timing
  control → ``task automatic`` (Verilator generates invalid C++ for the static task: seen with non-blocking
  assignments in drivers and with blocking ones in monitors). Only that task: making the whole interface
  automatic would make its other tasks' locals automatic, and a non-blocking assignment to an automatic
  variable is illegal (i2s_avip's BFMs have such tasks).
- ``empty_trailing_item``: ``modport mp (input a, output b, );`` (an item commented out after the last
  comma) → the comma removed; same for port lists.
- ``remove_sim_system_tasks``: ``$shm_open``, ``$shm_probe``, ``$fsdbDumpvars``, ``$vcdpluson``,
  ``$recordvars``, ... (waveform calls of other simulators) → a comment.
- ``bind_upward_ports``: ``bind T A a (.clk(itf.clk))`` inside module M, where ``itf`` is M's and not T's
  (an upward name, legal in IEEE 1800 and accepted by Questa, that Verilator cannot resolve) →
  ``.clk(clk)`` when M's instance of T connects its port ``clk`` to that same ``itf.clk``.
- ``mismatched_include_guard``: a file opening with `` `ifndef X`` `` `define Y`` where Y is another file's
  include guard (a copy-paste slip): Questa/Xcelium compile each file as its own unit and never notice;
  Verilator, one unit, then skips that other file → `` `define X``.
- ``vif_method_write_triggers`` (``dvsmith.sim.vif_triggers``): the members an interface's tasks write,
  when the tasks are called through a virtual interface, get Verilator scheduling triggers (an unused
  class writing them through a handle, on the ``endinterface`` line).
- ``inherited_type_params`` (``dvsmith.sim.inherited_params``): ``REQ``/``RSP`` inherited from
  ``uvm_driver #(T)`` (and the sequencer/sequence classes) used as another class's parameter value → ``T``.
- ``class_member_name_clash``, ``solve_before_size``, ``queue_part_select``, ``empty_queue_in_pattern``
  (``dvsmith.sim.class_rewrites``): a ``local`` property named like its class → ``m_<name>``;
  ``solve a.size before b`` → ``solve a before b``; ``q[i +: W]`` on a queue → ``q[i : (i)+(W)-1]``; an empty
  queue ``{}`` in an assignment pattern → ``'{}``.
- ``constraint_handle_copy`` (``dvsmith.sim.random_rewrites``): ``cfg.x`` in a constraint, ``cfg`` a non-rand
  handle and ``x`` rand in its class → a copy of ``cfg.x`` taken in ``pre_randomize`` (Verilator drops ``x``
  from the other class's own solver query).
- ``vif_typedef_property`` (``dvsmith.sim.class_rewrites``): a class property typed by a typedef of a virtual
  interface (``typedef virtual I v_if; v_if vif;``) → ``virtual I vif;`` (Verilator then never samples the
  interface's clocking-block inputs).
- ``starting_phase_accessors`` (``dvsmith.sim.uvm_rewrites``): UVM 1.1/1.2's ``starting_phase`` variable,
  gone from 2017 → ``get_starting_phase()``, and ``x.starting_phase = p;`` → ``x.set_starting_phase(p);``.
- ``uvm_compat_import``: with a UVM 1.x unit that needs dvsmith's compatibility package,
  ``import uvm_pkg::*;`` → ``import uvm_pkg::*; import dvsmith_uvm_compat_pkg::*;``.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel
from pyslang import syntax
from pyslang.parsing import Token, TokenKind

from dvsmith.analysis import limits

SK = syntax.SyntaxKind
#: the qualifiers that make a class property random
RAND_QUALIFIERS = (TokenKind.RandKeyword, TokenKind.RandCKeyword)

#: system tasks of other simulators that Verilator does not know (waveform dumping, recording)
SIM_SYSTEM_TASKS = frozenset(
    {
        "$shm_open", "$shm_probe", "$shm_close", "$shm_save",
        "$fsdbDumpfile", "$fsdbDumpvars", "$fsdbDumpon", "$fsdbDumpoff", "$fsdbDumpMDA", "$fsdbDumpSVA",
        "$fsdbAutoSwitchDumpfile", "$fsdbDumpflush", "$fsdbDumpvarsByFile", "$fsdbDumpvarsES",
        "$vcdpluson", "$vcdplusoff", "$vcdplusfile", "$vcdplusmemon", "$vcdplusmemoff", "$vcdplusflush",
        "$vcdplusautoflushon", "$vcdplusdeltacycleon", "$vcdplusglitchon",
        "$recordvars", "$recordfile", "$recordsetup", "$recordon", "$recordoff", "$recordclose",
        "$wlfdumpvars", "$set_coverage_db_name", "$sdf_annotate", "$dumpports",
    }
)  # fmt: skip


class RewriteRecord(BaseModel):
    """One change a rewrite made: ``{name, file, line, what}`` (line of the original text, 1-based)."""

    name: str
    file: str
    line: int
    what: str


@dataclass
class Edit:
    start: int  # byte offsets in the file's UTF-8 text
    end: int
    text: str
    line: int
    what: str


@dataclass
class RewriteContext:
    """What a rewrite may need to know beyond one file (gathered from every file of the unit)."""

    unpacked_structs: set[str] = field(default_factory=set)
    param_defaults: dict[tuple[str, str], str] = field(default_factory=dict)  # (module, param) -> default
    uvm_compat: bool = False
    module_names: dict[str, set[str]] = field(default_factory=dict)  # module/interface -> names it declares
    guards: dict[str, list[str]] = field(default_factory=dict)  # include-guard macro -> files it guards
    virtual_ifaces: set[str] = field(default_factory=set)  # interfaces named in a `virtual` type
    rand_members: dict[str, set[str]] = field(default_factory=dict)  # class -> its own rand/randc properties
    class_bases: dict[str, str] = field(default_factory=dict)  # class -> the class it extends
    vif_typedefs: dict[str, set[str]] = field(default_factory=dict)  # typedef name -> `virtual I` texts
    declares_starting_phase: bool = False  # the unit declares a variable of that name (then it is no 1.x use)

    def rand_members_of(self, cls: str) -> set[str]:
        """The rand properties of ``cls`` and of the classes it extends (as far as the unit declares them)."""
        out: set[str] = set()
        seen: set[str] = set()
        while cls in self.rand_members and cls not in seen:
            seen.add(cls)
            out |= self.rand_members[cls]
            cls = self.class_bases.get(cls, "")
        return out


class FileView:
    """One parsed file: its tree, its bytes and helpers to locate tokens in it."""

    def __init__(self, data: bytes, rel: str) -> None:
        from dvsmith.analysis.parse import _parser

        self.data = data
        self.rel = rel
        self.text = data.decode("utf-8")
        self.tree, buf = _parser().parse(self.text, [])
        self.buf_id = buf.id
        self.nl = [i for i, b in enumerate(data) if b == 10]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.nl, offset - 1) + 1

    def start(self, node: Any) -> int | None:
        tok = node if isinstance(node, Token) else node.getFirstToken()
        if tok is None or tok.isMissing or tok.location.buffer != self.buf_id:
            return None
        return tok.location.offset

    def end(self, node: Any) -> int | None:
        tok = node if isinstance(node, Token) else node.getLastToken()
        if tok is None or tok.isMissing or tok.range.end.buffer != self.buf_id:
            return None
        return tok.range.end.offset

    def src(self, node: Any) -> str:
        s, e = self.start(node), self.end(node)
        return self.data[s:e].decode("utf-8") if s is not None and e is not None else str(node).strip()


def present(tok: Any) -> bool:
    """A token that is in the source (pyslang gives absent optional tokens kind ``Unknown``)."""
    return tok is not None and isinstance(tok, Token) and tok.kind != TokenKind.Unknown and not tok.isMissing


def elements(seplist: Any) -> list[Any]:
    """The items of a pyslang separated list (``a, b`` iterates as a, ',', b): the nodes only."""
    return [x for x in seplist if isinstance(x, syntax.SyntaxNode)]


def nodes(root: Any) -> Iterator[Any]:
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, syntax.SyntaxNode):
            yield n
            stack.extend(reversed([c for c in n if c is not None]))


def tokens(root: Any) -> Iterator[Token]:
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, Token):
            yield n
        elif isinstance(n, syntax.SyntaxNode):
            stack.extend(reversed([c for c in n if c is not None]))


def fresh_name(base: str, used: set[str]) -> str:
    """``base`` (or ``base_2``, ``base_3``, ...) when it is not in ``used``; the name is added to ``used``."""
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}_{i}"
    used.add(name)
    return name


REGISTRY: dict[str, type[Rewrite]] = {}


class Rewrite(ABC):
    """Base of every rewrite; a subclass with a ``name`` registers itself."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        """A cheap test on the raw text before parsing (default: always parse)."""
        return True

    @abstractmethod
    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        """The byte-range edits this rewrite makes in one parsed file (empty: nothing to change)."""


# ---------------------------------------------------------------------------------------------- rewrites
def _name_path(name: Any) -> list[tuple[str, str | None]]:
    """``g[0].u.W`` -> [("g", "0"), ("u", None), ("W", None)] (select text, when any)."""
    k = name.kind
    if k == SK.ScopedName:
        return [*_name_path(name.left), *_name_path(name.right)]
    if k == SK.IdentifierSelectName:
        sel = "".join(str(s).strip()[1:-1] for s in name.selectors)
        return [(name.identifier.valueText, sel)]
    if k == SK.IdentifierName:
        return [(name.identifier.valueText, None)]
    raise ValueError(str(name))


def _flat_members(mod: Any) -> list[Any]:
    """A module's items, with those of its ``generate ... endgenerate`` regions in place of the region."""
    out: list[Any] = []
    for m in mod.members:
        out += _flat_members(m) if m.kind == SK.GenerateRegion else [m]
    return out


def _array_indexes(instantiation: Any, name: str) -> set[str] | None:
    """Indexes of instance array ``name`` when its dimension is a literal (``[4]`` or ``[3:0]``)."""
    for inst in elements(instantiation.instances):
        if inst.decl is None or inst.decl.name.valueText != name:
            continue
        dims = list(inst.decl.dimensions)
        if len(dims) != 1:
            return None
        text = str(dims[0]).strip()[1:-1].strip()
        if re.fullmatch(r"\d+", text):
            return {str(k) for k in range(int(text))}
        m = re.fullmatch(r"(\d+)\s*:\s*(\d+)", text)
        if m:
            lo, hi = sorted((int(m.group(1)), int(m.group(2))))
            return {str(k) for k in range(lo, hi + 1)}
    return None


class DefparamArray(Rewrite):
    name = "defparam_array"
    summary = "defparam on an arrayed instance -> parameter override on the instantiation"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "defparam" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for mod in nodes(view.tree.root):
            if mod.kind not in (SK.ModuleDeclaration, SK.InterfaceDeclaration, SK.ProgramDeclaration):
                continue
            members = _flat_members(mod)
            arrays: dict[str, Any] = {}  # instance array name -> (instantiation, instance)
            in_loop: dict[tuple[str, str], tuple[Any, Any, str]] = {}  # (block, inst) -> (inst'n, loop, genvar)
            for m in members:
                if m.kind == SK.HierarchyInstantiation:
                    for inst in elements(m.instances):
                        if inst.decl is not None and len(list(inst.decl.dimensions)) > 0:
                            arrays[inst.decl.name.valueText] = m
                elif m.kind == SK.LoopGenerate and m.block is not None and m.block.kind == SK.GenerateBlock:
                    label = m.block.beginName.name.valueText if m.block.beginName is not None else None
                    if not label:
                        continue
                    for inner in m.block.members:
                        if inner.kind == SK.HierarchyInstantiation:
                            for inst in elements(inner.instances):
                                if inst.decl is not None:
                                    in_loop[(label, inst.decl.name.valueText)] = (inner, m, m.identifier.valueText)
            # group defparams by (target instantiation, param)
            plan: dict[tuple[int, str], list[tuple[Any, Any, str, str | None]]] = {}
            targets: dict[int, tuple[Any, str, Any, str]] = {}
            for m in members:
                if m.kind != SK.DefParam or len(list(m.assignments)) != 1:
                    continue
                a = m.assignments[0]
                try:
                    path = _name_path(a.name)
                except ValueError:
                    continue
                value = view.src(a.setter.expr)
                if len(path) == 2 and path[0][1] and path[0][0] in arrays and path[1][1] is None:
                    inst = arrays[path[0][0]]
                    targets[id(inst)] = (inst, "array", None, path[0][0])
                    plan.setdefault((id(inst), path[1][0]), []).append((m, a, value, path[0][1]))
                elif len(path) == 3 and path[0][1] and (path[0][0], path[1][0]) in in_loop and path[2][1] is None:
                    inst, loop, genvar = in_loop[(path[0][0], path[1][0])]
                    targets[id(inst)] = (inst, "loop", loop, genvar)
                    plan.setdefault((id(inst), path[2][0]), []).append((m, a, value, path[0][1]))
            overrides: dict[int, list[tuple[str, str, list[Any]]]] = {}
            for (iid, param), uses in plan.items():
                inst, how, _loop, genvar = targets[iid]
                if how == "array":
                    values = {v for _, _, v, _ in uses}
                    if len(values) != 1:
                        continue  # different values per element: no parameter override can say that
                    indexes = _array_indexes(inst, targets[iid][3])
                    if indexes is not None and {i for _, _, _, i in uses} != indexes:
                        continue  # some elements keep the default: neither can an override
                    expr = values.pop()
                else:
                    default = self._default(inst, param, ctx)
                    if default is None:
                        continue
                    expr = default
                    for _, _, v, idx in reversed(uses):
                        expr = f"({genvar} == {idx}) ? ({v}) : ({expr})"
                overrides.setdefault(iid, []).append((param, expr, [m for m, _, _, _ in uses]))
            # a defparam inside a for-generate block on its own iteration's instance:
            # `for (i...) begin : g  u #(...) x (...);  defparam g[i].x.P = v;  end`
            for m in members:
                if m.kind != SK.LoopGenerate or m.block is None or m.block.kind != SK.GenerateBlock:
                    continue
                label = m.block.beginName.name.valueText if m.block.beginName is not None else None
                genvar = m.identifier.valueText
                for d in m.block.members:
                    if d.kind != SK.DefParam or len(list(d.assignments)) != 1:
                        continue
                    a = d.assignments[0]
                    try:
                        path = _name_path(a.name)
                    except ValueError:
                        continue
                    own = len(path) == 3 and path[0] == (label, genvar)
                    if not (own and path[1][1] is None and path[2][1] is None):
                        continue
                    found = in_loop.get((label or "", path[1][0]))
                    if found is None or found[1] is not m:
                        continue
                    inst, param, value = found[0], path[2][0], view.src(a.setter.expr)
                    edit = self._override_edit(view, inst, [(param, value)])
                    s, e = view.start(d), view.end(d)
                    if edit is None or s is None or e is None:
                        continue
                    old = view.data[s:e].decode()
                    out.append(edit)
                    out.append(Edit(s, e, f"/* dvsmith: {old} */", view.line(s),
                                    f"{old} -> #(.{param}({value})) on {inst.type.valueText} in the same "
                                    "generate iteration"))  # fmt: skip
            for iid, items in overrides.items():
                inst = targets[iid][0]
                edit = self._override_edit(view, inst, [(p, e) for p, e, _ in items])
                if edit is None:
                    continue
                out.append(edit)
                for param, expr, defparams in items:
                    for d in defparams:
                        s, e = view.start(d), view.end(d)
                        if s is None or e is None:
                            continue
                        out.append(
                            Edit(s, e, f"/* dvsmith: {view.data[s:e].decode()} */", view.line(s),
                                 f"{view.data[s:e].decode()} -> #(.{param}({expr})) on {inst.type.valueText}")
                        )  # fmt: skip
        return out

    @staticmethod
    def _default(inst: Any, param: str, ctx: RewriteContext) -> str | None:
        if inst.parameters is not None:
            for p in elements(inst.parameters.parameters):
                if p.kind == SK.NamedParamAssignment and p.name.valueText == param and p.expr is not None:
                    return str(p.expr).strip()
        return ctx.param_defaults.get((inst.type.valueText, param))

    @staticmethod
    def _override_edit(view: FileView, inst: Any, items: list[tuple[str, str]]) -> Edit | None:
        line = view.line(view.start(inst) or 0)
        if inst.parameters is None:
            pos = view.end(inst.type)
            if pos is None:
                return None
            text = " #(" + ", ".join(f".{p}({e})" for p, e in items) + ")"
            return Edit(pos, pos, text, line, f"parameter override{text} added to {inst.type.valueText}")
        params = elements(inst.parameters.parameters)
        if any(p.kind != SK.NamedParamAssignment for p in params):
            return None
        named = {p.name.valueText: p for p in params}
        # replace the whole list: kept overrides first, then the new ones
        kept = [view.src(p) for p in params if p.name.valueText not in dict(items)]
        new = [*kept, *(f".{p}({e})" for p, e in items)]
        s, e = view.start(inst.parameters), view.end(inst.parameters)
        if s is None or e is None:
            return None
        _ = named
        text = "#(" + ", ".join(new) + ")"
        return Edit(s, e, text, line, f"parameter overrides of {inst.type.valueText} -> {text}")


class InterfaceTaskAutomatic(Rewrite):
    name = "interface_task_automatic"
    summary = "static interface task taking an unpacked struct and waiting -> task automatic"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "interface" in text and "task" in text and bool(ctx.unpacked_structs)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for itf in nodes(view.tree.root):
            if itf.kind != SK.InterfaceDeclaration or present(itf.header.lifetime):
                continue  # an `interface automatic` has automatic tasks already
            for task in nodes(itf):
                if task.kind != SK.TaskDeclaration:
                    continue
                proto = task.prototype
                if present(proto.lifetime):
                    continue  # `task automatic` already, or `task static` on purpose
                struct_args = [
                    t.valueText
                    for port in (nodes(proto.portList) if proto.portList is not None else [])
                    if port.kind == SK.FunctionPort
                    for t in tokens(port.dataType)
                    if t.kind == TokenKind.Identifier and t.valueText in ctx.unpacked_structs
                ]
                if not struct_args:
                    continue
                kinds = {n.kind for n in nodes(task)}
                timed = bool(kinds & {SK.TimingControlStatement, SK.EventControlWithExpression, SK.DelayControl})
                if not timed or self._nba_to_local(task):
                    continue  # an automatic task may not assign its own locals non-blocking
                pos = view.end(proto.keyword)
                if pos is None:
                    continue
                tname = proto.name.getLastToken().valueText
                out.append(
                    Edit(pos, pos, " automatic", view.line(pos),
                         f"task {tname} of interface {itf.header.name.valueText} -> task automatic (takes "
                         f"unpacked struct {struct_args[0]} and waits)")
                )  # fmt: skip
        return out

    @staticmethod
    def _nba_to_local(task: Any) -> bool:
        local: set[str] = set()
        for item in task.items:
            if item.kind == SK.DataDeclaration:
                local.update(d.name.valueText for d in elements(item.declarators))
        for n in nodes(task):
            if n.kind == SK.NonblockingAssignmentExpression:
                head = n.left.getFirstToken()
                if head is not None and head.valueText in local:
                    return True
        return False


class EmptyTrailingItem(Rewrite):
    name = "empty_trailing_item"
    summary = "empty last item of a port/modport list (a comma before ')') -> removed"

    _LISTS = frozenset({SK.AnsiPortList, SK.NonAnsiPortList})

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return re.search(r",\s*(//[^\n]*\n\s*|/\*.*?\*/\s*)*\)", text, re.S) is not None

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind not in self._LISTS:
                continue
            items = list(n)
            for a, b in itertools.pairwise(items):
                if (
                    isinstance(a, Token)
                    and isinstance(b, Token)
                    and a.kind == TokenKind.Comma
                    and b.kind == TokenKind.CloseParenthesis
                ):
                    s, e = view.start(a), view.end(a)
                    if s is not None and e is not None:
                        out.append(Edit(s, e, " ", view.line(s), "empty last list item: trailing ',' removed"))
        return out


class RemoveSimSystemTasks(Rewrite):
    name = "remove_sim_system_tasks"
    summary = "simulator-specific system tasks ($shm_*, $fsdb*, $vcdplus*, $record*) -> removed"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return any(t in text for t in ("$shm_", "$fsdb", "$vcdplus", "$record", "$wlf", "$set_coverage", "$sdf_",
                                       "$dumpports"))  # fmt: skip

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.ExpressionStatement or n.expr.kind not in (SK.InvocationExpression, SK.SystemName):
                continue
            left = n.expr.left if n.expr.kind == SK.InvocationExpression else n.expr  # `$vcdpluson;` has no ()
            if left.kind != SK.SystemName or left.systemIdentifier.valueText not in SIM_SYSTEM_TASKS:
                continue
            s, e = view.start(n), view.end(n)
            if s is None or e is None:
                continue
            old = view.data[s:e].decode()
            body = old.replace("*/", "* /").replace("\n", " ")
            out.append(Edit(s, e, f"/* dvsmith: {body} */ ;", view.line(s), f"{old.splitlines()[0]} removed"))
        return out


def _declared_names(mod: Any) -> set[str]:
    """Every name a module declares (ports, nets, variables, instances; locals of its tasks too: a
    superset errs toward leaving a reference alone)."""
    out: set[str] = set()
    for n in nodes(mod):
        if n.kind == SK.Declarator or n.kind == SK.InstanceName:
            out.add(n.name.valueText)
        elif n.kind == SK.ImplicitNonAnsiPort and n.expr is not None:
            out.update(t.valueText for t in tokens(n.expr) if t.kind == TokenKind.Identifier)
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


class BindUpwardPorts(Rewrite):
    name = "bind_upward_ports"
    summary = "bind port connection naming the enclosing module's signal -> the target's port carrying it"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "bind" in text and bool(ctx.module_names)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for mod in nodes(view.tree.root):
            if mod.kind not in (SK.ModuleDeclaration, SK.InterfaceDeclaration):
                continue
            members = list(mod.members)
            insts = [
                (m.type.valueText, inst)
                for m in members
                if m.kind == SK.HierarchyInstantiation
                for inst in elements(m.instances)
                if inst.decl is not None and not list(inst.decl.dimensions)
            ]
            for b in members:
                if b.kind != SK.BindDirective or b.targetInstances is not None or b.target.kind != SK.IdentifierName:
                    continue
                target = b.target.identifier.valueText
                by_name = [(t, i) for t, i in insts if i.decl.name.valueText == target]
                chosen = by_name or [(t, i) for t, i in insts if t == target]
                if len(chosen) != 1 or chosen[0][0] not in ctx.module_names:
                    continue  # no single instance of the target here, or its module is not in the unit
                ttype, inst = chosen[0]
                local = ctx.module_names[ttype]
                carried: dict[str, str] = {}  # connected expression -> the target's port carrying it
                for c in elements(inst.connections):
                    if c.kind == SK.NamedPortConnection and c.expr is not None:
                        carried.setdefault(_norm(view.src(c.expr)), c.name.valueText)
                plan: list[tuple[Any, str]] = []
                ok = True
                for bi in elements(b.instantiation.instances):
                    for c in elements(bi.connections):
                        if c.kind != SK.NamedPortConnection or c.expr is None:
                            continue
                        head = c.expr.getFirstToken()
                        if head is None or head.kind != TokenKind.Identifier or head.valueText in local:
                            continue  # a name of the target itself (or not a plain name): resolves as is
                        port = carried.get(_norm(view.src(c.expr)))
                        if port is None:
                            ok = False  # an upward name no port of the instance carries: leave the bind alone
                            break
                        plan.append((c.expr, port))
                    if not ok:
                        break
                if not ok or not plan:
                    continue
                for expr, port in plan:
                    s, e = view.start(expr), view.end(expr)
                    if s is None or e is None:
                        continue
                    old = view.data[s:e].decode()
                    out.append(Edit(s, e, port, view.line(s),
                                    f"bind {target}: ({old}) -> ({port}), the port of {ttype} "
                                    f"{inst.decl.name.valueText} connected to {old}"))  # fmt: skip
        return out


def include_guard(data: bytes) -> tuple[str, str, int] | None:
    """``(X, Y, byte offset of Y)`` when a file opens with `` `ifndef X`` then `` `define Y`` (comments and
    blank lines before them allowed); X == Y for a proper include guard."""
    if b"`ifndef" not in data:
        return None
    from pyslang import BumpAllocator, Diagnostics, SourceManager
    from pyslang.parsing import Lexer

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    sm = SourceManager()
    lexer = Lexer(sm.assignText("f.sv", text), BumpAllocator(), Diagnostics(), sm)
    toks = [lexer.lex() for _ in range(4)]
    if (toks[0].kind == TokenKind.Directive and toks[0].rawText == "`ifndef"
            and toks[2].kind == TokenKind.Directive and toks[2].rawText == "`define"
            and toks[1].kind == TokenKind.Identifier and toks[3].kind == TokenKind.Identifier):  # fmt: skip
        return toks[1].rawText, toks[3].rawText, len(text[: toks[3].location.offset].encode())
    return None


class MismatchedIncludeGuard(Rewrite):
    name = "mismatched_include_guard"
    summary = "`ifndef X / `define Y where Y guards another file -> `define X"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "`ifndef" in text and bool(ctx.guards)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        guard = include_guard(view.data)
        if guard is None:
            return []
        own, defined, at = guard
        others = [f for f in ctx.guards.get(defined, []) if f != view.rel]
        if own == defined or not others:
            return []
        what = (f"`define {defined} -> `define {own} (the file's own guard; {defined} guards {others[0]}, which "
                "one compilation unit, as Verilator compiles, would then skip: a simulator compiling each file "
                "as its own unit never noticed the slip)")  # fmt: skip
        return [Edit(at, at + len(defined), own, view.line(at), what)]


class UvmCompatImport(Rewrite):
    name = "uvm_compat_import"
    summary = "UVM 1.x unit: import dvsmith_uvm_compat_pkg::* after import uvm_pkg::*"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return ctx.uvm_compat and "uvm_pkg" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        from dvsmith.analysis.uvm_flavour import COMPAT_PACKAGE

        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.PackageImportDeclaration:
                continue
            items = [str(i).strip() for i in elements(n.items)]
            if "uvm_pkg::*" not in items:
                continue
            e = view.end(n)
            if e is None:
                continue
            out.append(Edit(e, e, f" import {COMPAT_PACKAGE}::*;", view.line(e),
                            f"import {COMPAT_PACKAGE}::* added (APIs 2017 dropped)"))  # fmt: skip
        return out


# ---------------------------------------------------------------------------------------------- driver
def gather_context(files: dict[str, bytes], *, uvm_compat: bool = False) -> RewriteContext:
    """Unpacked struct typedef names and module parameter defaults of every file."""
    ctx = RewriteContext(uvm_compat=uvm_compat)
    binds = any(b"bind" in data for data in files.values())  # then bind_upward_ports needs every module's names
    for rel, data in sorted(files.items()):
        guard = include_guard(data)
        if guard is not None and guard[0] == guard[1]:
            ctx.guards.setdefault(guard[0], []).append(rel)
    for rel, data in files.items():
        scopes = binds and (b"module" in data or b"interface" in data)
        rand_classes = b"rand" in data and b"class" in data
        phase = b"starting_phase" in data and not ctx.declares_starting_phase
        if (b"struct" not in data and b"parameter" not in data and b"virtual" not in data and not scopes
                and not rand_classes and not phase):  # fmt: skip
            continue
        try:
            view = FileView(data, rel)
        except UnicodeDecodeError:
            continue
        for n in nodes(view.tree.root):
            if (
                n.kind == SK.TypedefDeclaration
                and n.type.kind in (SK.StructType, SK.UnionType)
                and not present(n.type.packed)
            ):
                ctx.unpacked_structs.add(n.name.valueText)
            if n.kind == SK.VirtualInterfaceType:
                ctx.virtual_ifaces.add(n.name.valueText)
                if n.parent is not None and n.parent.kind == SK.TypedefDeclaration:
                    ctx.vif_typedefs.setdefault(n.parent.name.valueText, set()).add(" ".join(str(n).split()))
            if rand_classes and n.kind == SK.ClassDeclaration:
                _gather_class(n, ctx)
            if phase and n.kind == SK.Declarator and n.name.valueText == "starting_phase":
                ctx.declares_starting_phase = True
            if binds and n.kind in (SK.ModuleDeclaration, SK.InterfaceDeclaration):
                ctx.module_names[n.header.name.valueText] = _declared_names(n)
            if n.kind in (SK.ModuleDeclaration, SK.InterfaceDeclaration) and n.header.parameters is not None:
                mod = n.header.name.valueText
                for decl in elements(n.header.parameters.declarations):
                    if decl.kind != SK.ParameterDeclaration:
                        continue
                    for d in elements(decl.declarators):
                        if d.initializer is not None:
                            ctx.param_defaults[(mod, d.name.valueText)] = str(d.initializer.expr).strip()
    return ctx


def _gather_class(cls: Any, ctx: RewriteContext) -> None:
    name = cls.name.valueText
    own = ctx.rand_members.setdefault(name, set())
    ext = cls.extendsClause
    if ext is not None and ext.baseName.kind in (SK.IdentifierName, SK.ClassName):
        ctx.class_bases[name] = ext.baseName.identifier.valueText
    for item in cls.items:
        if item.kind != SK.ClassPropertyDeclaration or item.declaration.kind != SK.DataDeclaration:
            continue
        if any(q.kind in RAND_QUALIFIERS for q in item.qualifiers):
            own.update(d.name.valueText for d in elements(item.declaration.declarators))


#: rewrites kept in modules of their own; they register when imported (here, on first use)
PLUGINS = (
    "dvsmith.sim.vif_triggers", "dvsmith.sim.inherited_params", "dvsmith.sim.class_rewrites",
    "dvsmith.sim.process_rewrites", "dvsmith.sim.random_rewrites", "dvsmith.sim.uvm_rewrites",
)


def enabled_rewrites(disabled: list[str] | None = None) -> list[Rewrite]:
    import importlib

    for module in PLUGINS:
        importlib.import_module(module)
    off = set(disabled or [])
    return [cls() for name, cls in REGISTRY.items() if name not in off]


def rewrite_text(
    data: bytes, rel: str, ctx: RewriteContext, rewrites: list[Rewrite]
) -> tuple[bytes, list[RewriteRecord]]:
    """The file's bytes after every rewrite, and what changed (unchanged bytes when nothing applies)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data, []
    wanted = [r for r in rewrites if r.wants(text, ctx)]
    if not wanted:
        return data, []
    view = FileView(data, rel)
    chosen: list[tuple[Edit, str]] = []
    for r in wanted:
        for ed in r.edits(view, ctx):
            if any(ed.start < o.end and o.start < ed.end for o, _ in chosen):
                continue  # overlaps an earlier edit
            chosen.append((ed, r.name))
    if not chosen:
        return data, []
    out = bytearray(data)
    for ed, _ in sorted(chosen, key=lambda c: (c[0].start, c[0].end), reverse=True):
        out[ed.start : ed.end] = ed.text.encode()
    records = [RewriteRecord(name=n, file=rel, line=ed.line, what=ed.what) for ed, n in sorted(
        chosen, key=lambda c: c[0].start)]  # fmt: skip
    return bytes(out), records


def rewrite_files(
    root: Path, files: list[str], *, disabled: list[str] | None = None, uvm_compat: bool = False
) -> tuple[dict[str, bytes], list[RewriteRecord]]:
    """New contents of the files that change (repo-relative -> bytes) and every change made."""
    data: dict[str, bytes] = {}
    for rel in files:
        p = root / rel
        if rel.lower().endswith((".sv", ".svh", ".v", ".vh")) and p.is_file() and not p.is_symlink():
            if p.stat().st_size > limits.MAX_FILE_BYTES:  # ingest skipped it: never read, never rewritten
                continue
            data[rel] = p.read_bytes()
    ctx = gather_context(data, uvm_compat=uvm_compat)
    rewrites = enabled_rewrites(disabled)
    changed: dict[str, bytes] = {}
    records: list[RewriteRecord] = []
    for rel in sorted(data):
        new, recs = rewrite_text(data[rel], rel, ctx, rewrites)
        if recs:
            changed[rel] = new
            records += recs
    return changed, records


def apply_in_place(root: Path, changed: dict[str, bytes]) -> None:
    """Write rewritten files into ``root`` (a copy dvsmith owns: the gym or a scratch copy)."""
    from dvsmith.paths import atomic_write_bytes, confine

    for rel, data in changed.items():
        atomic_write_bytes(confine(root, rel), data)


def copy_tree(src: Path, dst: Path) -> None:
    """A copy of ``src`` at ``dst`` (hidden folders skipped), replacing what was there."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=False, ignore=lambda d, names: [n for n in names if n.startswith(".")],
                    ignore_dangling_symlinks=True)  # fmt: skip
    os.utime(dst)
