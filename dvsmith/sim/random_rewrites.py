"""Rewrite ``constraint_handle_copy``: another object's rand property read in a constraint.

``class wb_transaction; wb_config cfg; constraint c { if (cfg.port_size - cfg.granularity == 1) ...; }``
is legal: ``cfg`` is not ``rand``, so ``cfg.port_size`` is a state variable of ``wb_transaction``'s
randomize, read when it solves. Verilator 5.049 gets it wrong when ``port_size`` is a ``rand`` property of
``wb_config``: from then on ``wb_config``'s own ``randomize()`` sends z3 a query that asserts on
``port_size`` without declaring it (``(error "unknown constant port_size")``), the call fails, every later
query of that run is garbled, and the bench hangs on the solver (Practical-UVM-Step-By-Step's wb_conmax:
``wb_transaction`` reads ``cfg.port_size``, ``cfg.granularity`` and ``cfg.cycles``). A read of a property
that is not rand in its class is fine.

The rewrite gives the reading class a copy of each such value, taken in ``pre_randomize`` (which runs just
before the solver reads the state, so the constraint sees the same value on every simulator):

- ``cfg.port_size`` in the class's constraint blocks → ``dvsmith_cfg__port_size``;
- ``var type(cfg.port_size) dvsmith_cfg__port_size;`` after the declaration of ``cfg``;
- ``if (cfg != null) dvsmith_cfg__port_size = cfg.port_size;`` at the start of the class's
  ``pre_randomize`` (after its declarations), or a ``pre_randomize`` of its own that calls
  ``super.pre_randomize()`` first when the class extends another.

Only for a handle the class declares itself (not ``rand``, no unpacked dimension, of a class type the unit
declares) and a property that class (or a class it extends) declares ``rand``; not when the class's
``pre_randomize`` body is out of the class block. Every edit stays on its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyslang.parsing import TokenKind

from dvsmith.sim.rewrites import (
    RAND_QUALIFIERS,
    SK,
    Edit,
    FileView,
    Rewrite,
    RewriteContext,
    elements,
    fresh_name,
    nodes,
    tokens,
)

#: items that may open a function body before its first statement
_DECLS = frozenset({SK.DataDeclaration, SK.TypedefDeclaration, SK.ParameterDeclarationStatement,
                    SK.LocalVariableDeclaration, SK.ForwardTypedefDeclaration})  # fmt: skip


def _type_class(data_type: Any) -> str | None:
    """The class name a property's type names (``c``, ``c #(8)``, ``pkg::c``), else None."""
    if data_type.kind != SK.NamedType:
        return None
    name = data_type.name
    if name.kind == SK.ScopedName and name.separator.kind == TokenKind.DoubleColon:
        name = name.right
    if name.kind in (SK.IdentifierName, SK.ClassName):
        return str(name.identifier.valueText)
    return None


@dataclass
class _Handle:
    cls: str  # the class it points to
    decl_end: int  # byte offset after its declaration statement


def _handles(cls: Any, view: FileView) -> dict[str, _Handle]:
    """Non-rand, non-array properties of the class whose type is a class name."""
    out: dict[str, _Handle] = {}
    for item in cls.items:
        if item.kind != SK.ClassPropertyDeclaration or item.declaration.kind != SK.DataDeclaration:
            continue
        if any(q.kind in RAND_QUALIFIERS for q in item.qualifiers):
            continue
        target = _type_class(item.declaration.type)
        end = view.end(item)
        if target is None or end is None:
            continue
        for d in elements(item.declaration.declarators):
            if not list(d.dimensions):
                out[d.name.valueText] = _Handle(target, end)
    return out


def _pre_randomize(cls: Any) -> tuple[Any, bool]:
    """The class's in-block ``pre_randomize`` function (or None) and whether one is declared out of block."""
    body, extern = None, False
    for item in cls.items:
        if item.kind == SK.ClassMethodPrototype and str(item.prototype.name).strip() == "pre_randomize":
            extern = True
        if (item.kind == SK.ClassMethodDeclaration and item.declaration.kind == SK.FunctionDeclaration
                and str(item.declaration.prototype.name).strip() == "pre_randomize"):  # fmt: skip
            body = item.declaration
    return body, extern


class ConstraintHandleCopy(Rewrite):
    name = "constraint_handle_copy"
    summary = ("h.x in a constraint, x rand in h's class -> a copy of h.x taken in pre_randomize "
               "(Verilator drops x from h's own solver query)")  # fmt: skip

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "constraint" in text and any(ctx.rand_members.values())

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        used = {t.valueText for t in tokens(view.tree.root) if t.kind == TokenKind.Identifier}
        for cls in nodes(view.tree.root):
            if cls.kind == SK.ClassDeclaration:
                out += self._class_edits(cls, view, ctx, used)
        return out

    def _class_edits(self, cls: Any, view: FileView, ctx: RewriteContext, used: set[str]) -> list[Edit]:
        handles = _handles(cls, view)
        if not handles:
            return []
        body, extern = _pre_randomize(cls)
        if extern and body is None:
            return []
        copies: dict[tuple[str, str], str] = {}  # (handle, property) -> copy name, in order of first use
        out: list[Edit] = []
        for item in cls.items:
            if item.kind != SK.ConstraintDeclaration:
                continue
            for n in nodes(item):
                if n.kind != SK.ScopedName or n.separator.kind != TokenKind.Dot:
                    continue
                if n.left.kind != SK.IdentifierName or n.right.kind != SK.IdentifierName:
                    continue
                if n.parent is not None and n.parent.kind == SK.InvocationExpression:
                    continue  # h.f() is a method call
                h, prop = n.left.identifier.valueText, n.right.identifier.valueText
                if h not in handles or prop not in ctx.rand_members_of(handles[h].cls):
                    continue
                s, e = view.start(n), view.end(n)
                if s is None or e is None:
                    continue
                key = (h, prop)
                if key not in copies:
                    copies[key] = fresh_name(f"dvsmith_{h}__{prop}", used)
                target = handles[h].cls
                out.append(Edit(s, e, copies[key], view.line(s),
                                f"{h}.{prop} in constraint {view.src(item.name)} -> {copies[key]}, copied from "
                                f"{h} in pre_randomize ({prop} is rand in {target}: Verilator then drops it from "
                                f"{target}'s own solver query, z3 'unknown constant {prop}')"))  # fmt: skip
        if not copies:
            return []
        by_handle: dict[str, list[tuple[str, str]]] = {}
        for (h, prop), copy in copies.items():
            by_handle.setdefault(h, []).append((prop, copy))
        for h, props in by_handle.items():
            at = handles[h].decl_end
            decls = "".join(f" var type({h}.{prop}) {copy};" for prop, copy in props)
            out.append(Edit(at, at, decls, view.line(at), f"copies of {h}'s rand properties declared"))
        assigns = " ".join(
            f"if ({h} != null) begin {' '.join(f'{c} = {h}.{p};' for p, c in props)} end"
            for h, props in by_handle.items()
        )
        if body is not None:
            first = next((it for it in body.items if it.kind not in _DECLS), None)
            at = view.start(first) if first is not None else view.start(body.end)
            if at is None:
                return []
            out.append(Edit(at, at, assigns + " ", view.line(at), "pre_randomize takes the copies first"))
        else:
            at = view.start(cls.endClass)
            if at is None:
                return []
            sup = "super.pre_randomize(); " if cls.extendsClause is not None else ""
            out.append(Edit(at, at, f"function void pre_randomize(); {sup}{assigns} endfunction ", view.line(at),
                            "pre_randomize added: it takes the copies"))  # fmt: skip
        return out
