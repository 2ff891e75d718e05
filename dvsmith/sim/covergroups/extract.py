"""pyslang syntax of a covergroup -> ``CovergroupSpec`` (SV expression texts kept as written), or the
list of constructs that keep it from being lowered."""

from __future__ import annotations

import bisect
from typing import Any

from pyslang import syntax

from dvsmith.sim.covergroups.model import (
    BinSpec,
    CovergroupSpec,
    CoverpointSpec,
    CrossBinSpec,
    CrossSpec,
    PortSpec,
    RangeSpec,
    Unsupported,
)

SK = syntax.SyntaxKind

#: options the lowering implements (others make the covergroup unsupported)
CG_OPTIONS = {"weight", "goal", "name", "comment", "at_least", "auto_bin_max", "per_instance", "detect_overlap",
              "cross_num_print_missing", "get_inst_coverage"}  # fmt: skip
POINT_OPTIONS = {"weight", "goal", "comment", "at_least", "auto_bin_max", "detect_overlap"}
CROSS_OPTIONS = {"weight", "goal", "comment", "at_least", "cross_num_print_missing"}
TYPE_OPTIONS = {"comment", "weight", "goal"}
_KINDS = {"bins": "bins", "ignore_bins": "ignore", "illegal_bins": "illegal"}


class _Unsupported(Exception):
    def __init__(self, construct: str, node: Any) -> None:
        super().__init__(construct)
        self.construct = construct
        self.node = node


class Source:
    """The original bytes of one file and its pyslang buffer: node text and lines by offset."""

    def __init__(self, data: bytes, buf_id: Any, file: str) -> None:
        self.data = data
        self.buf_id = buf_id
        self.file = file
        self.nl = [i for i, c in enumerate(data) if c == 10]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.nl, offset - 1) + 1

    def start(self, node: Any) -> int | None:
        tok = node.getFirstToken() if isinstance(node, syntax.SyntaxNode) else node
        if tok is None or tok.isMissing or tok.location.buffer != self.buf_id:
            return None
        return tok.location.offset

    def end(self, node: Any) -> int | None:
        tok = node.getLastToken() if isinstance(node, syntax.SyntaxNode) else node
        if tok is None or tok.isMissing or tok.range.end.buffer != self.buf_id:
            return None
        return tok.range.end.offset

    def text(self, node: Any) -> str:
        s, e = self.start(node), self.end(node)
        if s is None or e is None or e < s:
            raise _Unsupported("text produced by a macro", node)
        return self.data[s:e].decode("utf-8", errors="replace")

    def all_local(self, node: Any) -> bool:
        """Every token of ``node`` is written in this file (no macro expansion, no include)."""
        stack = [node]
        while stack:
            n = stack.pop()
            for c in n:
                if isinstance(c, syntax.SyntaxNode):
                    stack.append(c)
                elif c is not None and not c.isMissing and c.location.buffer != self.buf_id:
                    return False
        return True


def _nodes(seq: Any) -> list[Any]:
    return [c for c in seq if isinstance(c, syntax.SyntaxNode)] if seq is not None else []


def _option(src: Source, node: Any, allowed: set[str], out: dict[str, str], tout: dict[str, str] | None) -> None:
    expr = node.expr
    if expr.kind != SK.AssignmentExpression or expr.left.kind != SK.ScopedName:
        raise _Unsupported("coverage option form", node)
    which = src.text(expr.left.left)
    name = src.text(expr.left.right)
    value = src.text(expr.right)
    if which == "option" and name in allowed:
        out[name] = value
    elif which == "type_option" and tout is not None and name in TYPE_OPTIONS:
        tout[name] = value
    else:
        raise _Unsupported(f"{which}.{name}", node)


def _range(src: Source, node: Any) -> RangeSpec:
    if node.kind == SK.ValueRangeExpression:
        lo, hi = node.left, node.right
        return RangeSpec(
            lo=None if src.text(lo) == "$" else src.text(lo),
            hi=None if src.text(hi) == "$" else src.text(hi),
        )
    if node.kind in (SK.ExpressionCoverageBinInitializer,):
        raise _Unsupported("bins from an array expression", node)
    t = src.text(node)
    if t == "$":
        raise _Unsupported("'$' as a single value", node)
    if node.kind in (SK.ConcatenationExpression,):
        raise _Unsupported("concatenation as a bin value", node)
    return RangeSpec(lo=t, hi=t)


def _ranges(src: Source, range_list: Any) -> list[RangeSpec]:
    return [_range(src, v) for v in _nodes(range_list.valueRanges)]


def _int_literal(src: Source, node: Any) -> int:
    t = src.text(node).replace("_", "")
    if not t.isdigit():
        raise _Unsupported("transition repetition count that is not a decimal literal", node)
    return int(t)


def _trans_set(src: Source, ts: Any) -> list[list[RangeSpec]]:
    steps: list[list[RangeSpec]] = []
    for tr in _nodes(ts.ranges):
        values = [_range(src, v) for v in _nodes(tr.items)]
        count = 1
        rep = tr.repeat
        if rep is not None:
            if rep.specifier.valueText != "*":
                raise _Unsupported(f"transition repetition [{rep.specifier.valueText}...]", rep)
            sel = rep.selector
            if sel is None or sel.kind != SK.BitSelect:
                raise _Unsupported("transition repetition range [*m:n]", rep)
            count = _int_literal(src, sel.expr)
            if count < 1 or count > 64:
                raise _Unsupported("transition repetition count outside 1..64", rep)
        steps += [values] * count
    return steps


def _bin(src: Source, node: Any) -> BinSpec:
    kw = node.keyword.valueText
    if node.wildcard is not None and not node.wildcard.isMissing and node.wildcard.valueText:
        raise _Unsupported("wildcard bins", node)
    if node.iff is not None:
        raise _Unsupported("iff on a bin", node)
    kind = _KINDS.get(kw)
    if kind is None:
        raise _Unsupported(kw, node)
    name = node.name.valueText
    array: str | None = None
    if node.size is not None:
        array = src.text(node.size.expr) if node.size.expr is not None else ""
    init = node.initializer
    ik = init.kind
    if ik == SK.DefaultCoverageBinInitializer:
        if init.sequenceKeyword is not None and init.sequenceKeyword.valueText:
            raise _Unsupported("default sequence", node)
        if kind != "bins" or array is not None:
            raise _Unsupported(f"{kw} {name}{'[]' if array is not None else ''} = default", node)
        return BinSpec(name=name, kind="default")
    if ik == SK.RangeCoverageBinInitializer:
        if init.withClause is not None:
            raise _Unsupported("bins ... with (...)", node)
        return BinSpec(name=name, kind=kind, array=array, ranges=_ranges(src, init.ranges))
    if ik == SK.TransListCoverageBinInitializer:
        if array is not None:
            raise _Unsupported("array of transition bins", node)
        return BinSpec(name=name, kind=kind, sequences=[_trans_set(src, ts) for ts in _nodes(init.sets)])
    raise _Unsupported(f"bin initializer {str(ik).split('.')[-1]}", node)


def _coverpoint(src: Source, node: Any, index: int) -> CoverpointSpec:
    if node.type is not None and node.type.kind != SK.ImplicitType:
        raise _Unsupported("coverpoint with a data type", node)
    expr = src.text(node.expr)
    name = (
        node.label.name.valueText if node.label is not None else (expr if node.expr.kind == SK.IdentifierName else "")
    )
    if not name:
        raise _Unsupported("unlabeled coverpoint of an expression", node)
    cp = CoverpointSpec(name=name, expr=expr, iff=src.text(node.iff.expr) if node.iff is not None else None)
    for m in _nodes(node.members):
        if m.kind == SK.CoverageOption:
            _option(src, m, POINT_OPTIONS, cp.options, None)
        elif m.kind == SK.CoverageBins:
            cp.bins.append(_bin(src, m))
        else:
            raise _Unsupported(f"coverpoint member {str(m.kind).split('.')[-1]}", m)
    return cp


class _Select:
    """A cross bin's select expression -> SV boolean over t[k]."""

    def __init__(self, src: Source, items: list[str], points: dict[str, CoverpointSpec]) -> None:
        self.src = src
        self.items = items
        self.points = points

    def item(self, name: str, node: Any) -> int:
        if name not in self.items:
            raise _Unsupported(f"binsof({name}) of a coverpoint not in the cross", node)
        return self.items.index(name)

    def bound(self, cp: str, text: str | None, which: str) -> str:
        if text is None:
            return f"{cp}.{which}_v"
        return f"longint'({text})"

    def expr(self, node: Any) -> str:
        k = node.kind
        if k == SK.ParenthesizedBinsSelectExpr:
            return f"({self.expr(node.expr)})"
        if k == SK.UnaryBinsSelectExpr:
            return f"!({self.expr(node.expr)})"
        if k == SK.BinaryBinsSelectExpr:
            op = node.op.valueText
            if op not in ("&&", "||"):
                raise _Unsupported(f"select operator {op}", node)
            return f"({self.expr(node.left)} {op} {self.expr(node.right)})"
        if k == SK.BinsSelectConditionExpr:
            target = node.name
            if target.kind == SK.ScopedName:
                cp_name, bin_name = self.src.text(target.left), self.src.text(target.right)
            elif target.kind == SK.IdentifierName:
                cp_name, bin_name = self.src.text(target), None
            else:
                raise _Unsupported("binsof target form", node)
            i = self.item(cp_name, node)
            terms = []
            if bin_name is not None:
                terms.append(f'{cp_name}.in_bin(t[{i}], "{bin_name}")')
            if node.intersects is not None:
                rs = _ranges(self.src, node.intersects.ranges)
                alts = [
                    f"{cp_name}.intersects(t[{i}], {self.bound(cp_name, r.lo, 'min')}, "
                    f"{self.bound(cp_name, r.hi, 'max')})"
                    for r in rs
                ]
                terms.append("(" + " || ".join(alts or ["1'b0"]) + ")")
            return "(" + " && ".join(terms) + ")" if terms else "1'b1"
        raise _Unsupported(f"cross select {str(k).split('.')[-1]}", node)


def _cross(src: Source, node: Any, points: dict[str, CoverpointSpec], implicit: list[CoverpointSpec]) -> CrossSpec:
    items: list[str] = []
    for it in _nodes(node.items):
        name = src.text(it)
        if name not in points:
            if it.kind != SK.IdentifierName:
                raise _Unsupported("cross of an expression that is not a coverpoint or variable", it)
            cp = CoverpointSpec(name=name, expr=name, implicit=True)
            points[name] = cp
            implicit.append(cp)
        items.append(name)
    name = node.label.name.valueText if node.label is not None else "_x_".join(items)
    x = CrossSpec(name=name, items=items, iff=src.text(node.iff.expr) if node.iff is not None else None)
    sel = _Select(src, items, points)
    for m in _nodes(node.members):
        if m.kind == SK.CoverageOption:
            _option(src, m, CROSS_OPTIONS, x.options, None)
        elif m.kind == SK.BinsSelection:
            kw = m.keyword.valueText
            kind = _KINDS.get(kw)
            if kind is None:
                raise _Unsupported(kw, m)
            if m.iff is not None:
                raise _Unsupported("iff on a cross bin", m)
            x.bins.append(CrossBinSpec(name=m.name.valueText, kind=kind, select=sel.expr(m.expr)))
        else:
            raise _Unsupported(f"cross member {str(m.kind).split('.')[-1]}", m)
    return x


def _ports(src: Source, port_list: Any, what: str) -> list[PortSpec]:
    out: list[PortSpec] = []
    if port_list is None:
        return out
    for p in _nodes(port_list.ports):
        if p.kind != SK.FunctionPort:
            raise _Unsupported(f"{what} port form", p)
        if p.direction is not None and p.direction.valueText not in ("", "input"):
            raise _Unsupported(f"{p.direction.valueText} {what} argument", p)
        if p.constKeyword is not None and p.constKeyword.valueText:
            raise _Unsupported(f"const {what} argument", p)
        if p.dataType is None or (p.dataType.kind == SK.ImplicitType and not src.text(p.dataType).strip()):
            raise _Unsupported(f"{what} argument without a data type", p)
        d = p.declarator
        if d.initializer is not None:
            raise _Unsupported(f"{what} argument default value", p)
        if _nodes(d.dimensions):
            raise _Unsupported(f"unpacked {what} argument", p)
        out.append(PortSpec(decl=f"{src.text(p.dataType)} {d.name.valueText}", name=d.name.valueText))
    return out


def covergroup_spec(src: Source, node: Any, scope: str, scope_kind: str) -> CovergroupSpec | list[Unsupported]:
    """The spec of one ``CovergroupDeclaration``, or what is unsupported in it (every construct found)."""
    name = node.name.valueText
    line = src.line(src.start(node) or 0)
    type_name = f"{scope}::{name}"
    problems: list[Unsupported] = []

    def bad(exc: _Unsupported) -> None:
        off = src.start(exc.node)
        try:
            snippet = " ".join(src.text(exc.node).split())[:120]
        except _Unsupported:
            snippet = ""
        problems.append(Unsupported(file=src.file, line=src.line(off) if off is not None else line,
                                    covergroup=type_name, what=exc.construct, text=snippet))  # fmt: skip

    if not src.all_local(node):
        return [Unsupported(file=src.file, line=line, covergroup=type_name, what="macro inside the covergroup")]
    spec = CovergroupSpec(name=name, scope=scope, scope_kind=scope_kind, file=src.file, line=line)
    try:
        ext = getattr(node, "extends", None)
        if ext is not None and not isinstance(ext, syntax.SyntaxNode) and ext.valueText:
            raise _Unsupported("covergroup extends", node)
        if isinstance(ext, syntax.SyntaxNode):
            raise _Unsupported("covergroup extends", node.extends)
        spec.ports = _ports(src, node.portList, "covergroup")
        ev = node.event
        if ev is not None:
            if ev.kind == SK.WithFunctionSample:
                spec.sample_ports = _ports(src, ev.portList, "sample")
            elif ev.kind == SK.EventControlWithExpression:
                spec.event = "@" + src.text(ev.expr)
            elif ev.kind == SK.EventControl:
                spec.event = "@(" + src.text(ev.eventName) + ")"
            else:
                raise _Unsupported("covergroup block event (@@)", ev)
    except _Unsupported as exc:
        bad(exc)
    points: dict[str, CoverpointSpec] = {}
    implicit: list[CoverpointSpec] = []
    index = 0
    for m in _nodes(node.members):
        try:
            if m.kind == SK.CoverageOption:
                _option(src, m, CG_OPTIONS, spec.options, spec.type_options)
            elif m.kind == SK.Coverpoint:
                cp = _coverpoint(src, m, index)
                index += 1
                if cp.name in points:
                    raise _Unsupported(f"two coverpoints named {cp.name}", m)
                points[cp.name] = cp
                spec.points.append(cp)
            elif m.kind == SK.CoverCross:
                spec.crosses.append(_cross(src, m, points, implicit))
            else:
                raise _Unsupported(f"covergroup member {str(m.kind).split('.')[-1]}", m)
        except _Unsupported as exc:
            bad(exc)
    spec.points += implicit
    return problems if problems else spec
