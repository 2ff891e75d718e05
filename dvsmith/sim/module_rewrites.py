"""Rewrites on modules, interfaces and files: ``defparam_array``, ``interface_task_automatic``,
``empty_trailing_item``, ``remove_sim_system_tasks``, ``bind_upward_ports``, ``mismatched_include_guard``
and ``uvm_compat_import`` (what each changes: ``dvsmith.sim.rewrites``, whose registry they join when this
module is imported)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from pyslang.parsing import Token, TokenKind

from dvsmith.sim.rewrites import (
    SK,
    Edit,
    FileView,
    Rewrite,
    RewriteContext,
    elements,
    include_guard,
    nodes,
    present,
    tokens,
)

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
