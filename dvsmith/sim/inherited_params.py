"""Rewrite ``inherited_type_params``: a UVM class's inherited type parameters used as parameter values.

``class drv extends uvm_driver #(my_tx); uvm_seq_item_pull_port #(REQ, RSP) port;`` is legal: ``REQ`` and
``RSP`` are ``uvm_driver``'s type parameters, inherited (``RSP`` defaults to ``REQ``). Verilator 5.048/5.049
rejects them as the values of another class's parameters ("Parameter type pin value isn't a type:
Param '__paramNumber1' of 'uvm_seq_item_pull_port'", then an internal error): axi4Lite_avip's driver and
sequencer proxies. The rewrite puts the types they stand for in those places (``#(my_tx, my_tx)``), only
in parameter value lists, only for classes that extend a UVM class with ``REQ``/``RSP`` parameters through
an ordered parameter list of plain type names, and only when the class does not declare a ``REQ`` or
``RSP`` of its own. The meaning is the same on every simulator.
"""

from __future__ import annotations

from typing import Any

from dvsmith.sim.rewrites import SK, Edit, FileView, Rewrite, RewriteContext, elements, nodes

#: UVM classes whose first two type parameters are REQ and RSP (RSP defaults to REQ)
REQ_RSP_BASES = frozenset({"uvm_driver", "uvm_push_driver", "uvm_sequencer", "uvm_push_sequencer",
                           "uvm_sequence", "uvm_sequencer_param_base"})  # fmt: skip
_NAMES = ("REQ", "RSP")


def _plain_type(expr: Any) -> str | None:
    """The text of a parameter value that is a plain type name (``t``, ``pkg::t``), else None."""
    if expr is None or expr.kind not in (SK.IdentifierName, SK.ScopedName):
        return None
    text = str(expr).strip()
    return text if text.replace("::", "").replace("_", "").isalnum() else None


def _bindings(cls: Any) -> dict[str, str] | None:
    ext = cls.extendsClause
    if ext is None or ext.baseName.kind != SK.ClassName or ext.baseName.identifier.valueText not in REQ_RSP_BASES:
        return None
    pva = ext.baseName.parameters
    args = list(elements(pva.parameters)) if pva is not None else []
    if not args or len(args) > 2 or any(p.kind != SK.OrderedParamAssignment for p in args):
        return None
    types = [_plain_type(p.expr) for p in args]
    if any(t is None for t in types):
        return None
    req = str(types[0])
    return {"REQ": req, "RSP": str(types[1]) if len(types) == 2 else req}


def _declares_own(cls: Any) -> bool:
    """The class (or a class inside it) declares a REQ or RSP of its own (a typedef or a type parameter)."""
    return any(
        n.kind in (SK.TypedefDeclaration, SK.TypeAssignment) and n.name.valueText in _NAMES for n in nodes(cls)
    )


class InheritedTypeParams(Rewrite):
    name = "inherited_type_params"
    summary = "REQ/RSP inherited from uvm_driver/uvm_sequencer as another class's parameter -> the type itself"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return ("REQ" in text or "RSP" in text) and any(b in text for b in REQ_RSP_BASES)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for cls in nodes(view.tree.root):
            if cls.kind != SK.ClassDeclaration:
                continue
            binding = _bindings(cls)
            if binding is None or _declares_own(cls):
                continue
            base_pva = cls.extendsClause.baseName.parameters
            for pva in nodes(cls):
                if pva.kind != SK.ParameterValueAssignment or pva is base_pva:
                    continue
                for p in elements(pva.parameters):
                    if p.kind != SK.OrderedParamAssignment or p.expr is None or p.expr.kind != SK.IdentifierName:
                        continue
                    name = p.expr.identifier.valueText
                    s, e = view.start(p.expr), view.end(p.expr)
                    if name not in binding or s is None or e is None:
                        continue
                    out.append(Edit(s, e, binding[name], view.line(s),
                                    f"{name} (inherited by class {cls.name.valueText} from "
                                    f"{cls.extendsClause.baseName.identifier.valueText}) as a parameter value "
                                    f"-> {binding[name]}"))  # fmt: skip
        return out
