"""One file's syntax tree -> its facts: the classes (kind, base, parameters, methods, what each method
starts and creates), covergroups, packages, modules and imports, as plain JSON-able dicts.

``dvsmith.analysis.parse`` owns the parser (one file at a time, the UVM macro prelude, the repo's own
macros) and hands each tree to :class:`FactsWalker`; the gym's spec extraction reuses ``name_of`` and
``scan_body`` on the trees it parses.
"""

from __future__ import annotations

import bisect
from typing import Any

from pyslang import syntax

from dvsmith.analysis.uvm_macros import DO_MARKER, DO_ON_MARKER

SK = syntax.SyntaxKind
Facts = dict[str, Any]


def _tok_text(tok: Any) -> str:
    return tok.valueText if tok is not None else ""


def name_of(node: Any) -> str | None:
    """The simple (last) identifier of a name or type: ``pkg::cls#(T)`` -> ``cls``."""
    if node is None:
        return None
    k = node.kind
    if k == SK.NamedType:
        return name_of(node.name)
    if k in (SK.IdentifierName, SK.ClassName, SK.IdentifierSelectName):
        return node.identifier.valueText or None
    if k == SK.ScopedName:
        return name_of(node.right)
    if k == SK.ElementSelectExpression:
        return name_of(node.left)
    if k == SK.MemberAccessExpression:
        return node.name.valueText or None
    if k == SK.ThisHandle:
        return "this"
    if k == SK.ConstructorName:
        return "new"
    return None


def _scope_of(node: Any) -> str | None:
    """``pkg`` of ``pkg::name`` (None when unscoped)."""
    if node is not None and node.kind == SK.NamedType:
        node = node.name
    if node is not None and node.kind == SK.ScopedName and node.separator.valueText == "::":
        return name_of(node.left)
    return None


def _text(node: Any) -> str:
    return " ".join(str(node).split())


def _param_names(params: Any) -> list[str]:
    """Simple names (or text) of the values in a ``#( ... )`` parameter assignment."""
    if params is None:
        return []
    out: list[str] = []
    for p in params.parameters:
        if not isinstance(p, syntax.SyntaxNode):
            continue
        expr = getattr(p, "expr", None)
        if expr is None:
            continue
        out.append(name_of(expr) or _text(expr))
    return out


def creation_type(expr: Any) -> str | None:
    """``X::type_id::create(...)`` / ``X::type_id::get()`` / ``X::get_type()`` -> ``X``."""
    if expr is None or expr.kind != SK.InvocationExpression:
        return None
    left = expr.left
    if left.kind != SK.ScopedName or left.separator.valueText != "::":
        return None
    last = name_of(left.right)
    inner = left.left
    if last in ("create", "get") and inner.kind == SK.ScopedName and name_of(inner.right) == "type_id":
        return name_of(inner.left)
    if last == "get_type":
        return name_of(inner)
    return None


def _receiver(node: Any) -> tuple[str | None, str | None]:
    """What ``.start`` is called on: (variable, type) - one of them set, or both None."""
    if node is None:
        return None, None
    k = node.kind
    if k == SK.InvocationExpression:
        return None, creation_type(node)
    if k == SK.IdentifierName:
        return node.identifier.valueText, None
    if k == SK.IdentifierSelectName:
        return node.identifier.valueText, None
    if k == SK.ElementSelectExpression:
        return _receiver(node.left)
    if k == SK.ParenthesizedExpression:
        return _receiver(node.expression)
    if k in (SK.ScopedName, SK.MemberAccessExpression):
        return name_of(node), None
    return None, None


def call_args(inv: Any) -> list[Any]:
    """The argument expressions of an invocation, unwrapped from property/sequence wrappers."""
    al = inv.arguments
    if al is None:
        return []
    out = []
    for a in al.parameters:
        if isinstance(a, syntax.SyntaxNode):
            expr = getattr(a, "expr", None)
            while expr is not None and expr.kind in (SK.SimplePropertyExpr, SK.SimpleSequenceExpr):
                expr = expr.expr
            out.append(expr)
    return out


def _unwrap(expr: Any) -> Any:
    while expr is not None and expr.kind in (SK.SimplePropertyExpr, SK.SimpleSequenceExpr):
        expr = expr.expr
    return expr


_ASSIGN_KINDS = {SK.AssignmentExpression, SK.NonblockingAssignmentExpression}
_DATA_KINDS = {SK.DataDeclaration}


def scan_body(body: Any, method: str, starts: list[dict], locals_: dict[str, str], assigns: dict[str, str]) -> None:
    """Find sequence starts, local declarations and factory assignments in a method body."""
    stack = [body]
    while stack:
        n = stack.pop()
        k = n.kind
        if k == SK.DataDeclaration:
            t = name_of(n.type)
            if t:
                for d in n.declarators:
                    if isinstance(d, syntax.SyntaxNode):
                        locals_[d.name.valueText] = t
                        init = d.initializer
                        if init is not None:
                            ct = creation_type(_unwrap(init.expr))
                            if ct:
                                assigns[d.name.valueText] = ct
        elif k in _ASSIGN_KINDS:
            var, _ = _receiver(n.left)
            ct = creation_type(n.right)
            if var and ct:
                assigns[var] = ct
        elif k == SK.InvocationExpression:
            _invocation(n, method, starts)
        # children pushed last-first so statements are visited in source order
        stack.extend(reversed([c for c in n if isinstance(c, syntax.SyntaxNode)]))


def _invocation(n: Any, method: str, starts: list[dict]) -> None:
    left = n.left
    lk = left.kind
    if lk == SK.IdentifierName:
        fn = left.identifier.valueText
        if fn in (DO_MARKER, DO_ON_MARKER):
            args = call_args(n)
            if args:
                var, typ = _receiver(args[0])
                sqr = _text(args[1]) if fn == DO_ON_MARKER and len(args) > 1 and args[1] is not None else ""
                starts.append({"var": var, "type": typ, "sqr": sqr, "how": "macro", "method": method})
        return
    if lk in (SK.ScopedName, SK.MemberAccessExpression):
        last = name_of(left)
        if last == "start":
            recv = left.left
            if lk == SK.ScopedName and left.separator.valueText == "::":
                return
            var, typ = _receiver(recv)
            if var == "this" or (var is None and typ is None):
                return
            args = call_args(n)
            sqr = _text(args[0]) if args and args[0] is not None else ""
            starts.append({"var": var, "type": typ, "sqr": sqr, "how": "start", "method": method})
        elif last == "set" and lk == SK.ScopedName and "uvm_config_db" in _text(left.left):
            args = call_args(n)
            key = args[2] if len(args) >= 4 else None
            if (
                key is not None
                and key.kind == SK.StringLiteralExpression
                and key.literal.valueText.strip('"') == "default_sequence"
            ):
                typ = creation_type(args[3])
                var = None if typ else _receiver(args[3])[0]
                if typ or var:
                    starts.append({"var": var, "type": typ, "sqr": "", "how": "default_sequence", "method": method})


# ---------------------------------------------------------------------------- file walk


class FactsWalker:
    def __init__(self, tree: Any, buf: Any, data: bytes) -> None:
        self.tree = tree
        self.buf_id = buf.id
        self.nl = _newlines(data)
        self.classes: list[dict] = []
        self.externs: list[dict] = []
        self.covergroups: list[dict] = []
        self.packages: list[dict] = []
        self.modules: list[dict] = []
        self.imports: set[str] = set()

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.nl, offset - 1) + 1 if offset > 0 else 1

    def _loc(self, tok: Any) -> int | None:
        if not tok or tok.isMissing:
            return None
        loc = tok.location
        return loc.offset if loc.buffer == self.buf_id else None

    def _end(self, tok: Any) -> int | None:
        if not tok or tok.isMissing:
            return None
        rng = tok.range
        return rng.end.offset if rng.end.buffer == self.buf_id else None

    def span(self, first: Any, last: Any) -> dict | None:
        s, e = self._loc(first), self._end(last)
        if s is None or e is None or e < s:
            return None
        return {"start": s, "end": e, "line": self.line(s), "end_line": self.line(max(s, e - 1))}

    def node_line(self, node: Any) -> int:
        off = self._loc(node.getFirstToken())
        return self.line(off) if off is not None else 0

    # members of a compilation unit, package, module or generate block
    def members(self, members: Any, scope: str | None, scope_kind: str) -> None:
        for m in members:
            if not isinstance(m, syntax.SyntaxNode):
                continue
            k = m.kind
            if k == SK.ClassDeclaration:
                self.klass(m, scope, scope_kind)
            elif k == SK.PackageDeclaration:
                name = _tok_text(m.header.name)
                sp = self.span(m.getFirstToken(), m.getLastToken())
                self.packages.append({"name": name, "line": sp["line"] if sp else 0, "span": sp})
                self.members(m.members, name, "package")
            elif k in (SK.ModuleDeclaration, SK.InterfaceDeclaration, SK.ProgramDeclaration):
                self.module(m)
            elif k in (SK.FunctionDeclaration, SK.TaskDeclaration):
                self.extern_def(m)
            elif k == SK.CovergroupDeclaration:
                self.covergroup(m, scope)
            elif k == SK.PackageImportDeclaration:
                self._imports(m)

    def _imports(self, decl: Any) -> None:
        for item in decl.items:
            if isinstance(item, syntax.SyntaxNode):
                self.imports.add(item.package.valueText)

    def module(self, m: Any) -> None:
        header = m.header
        name = _tok_text(header.name)
        kind = {SK.ModuleDeclaration: "module", SK.InterfaceDeclaration: "interface"}.get(m.kind, "program")
        for imp in header.imports:
            if isinstance(imp, syntax.SyntaxNode):
                self._imports(imp)
        instances: list[str] = []
        run_test = False
        stack = [c for c in m.members if isinstance(c, syntax.SyntaxNode)]
        stack.reverse()
        others = []
        while stack:
            c = stack.pop()
            k = c.kind
            if k == SK.HierarchyInstantiation:
                instances.append(c.type.valueText)
            elif k in (
                SK.GenerateRegion,
                SK.GenerateBlock,
                SK.IfGenerate,
                SK.LoopGenerate,
                SK.CaseGenerate,
                SK.ElseClause,
                SK.StandardCaseItem,
                SK.DefaultCaseItem,
            ):
                stack.extend(x for x in c if isinstance(x, syntax.SyntaxNode))
            elif k == SK.InitialBlock and not run_test:
                run_test = _calls_run_test(c)
            elif k == SK.PackageImportDeclaration:
                self._imports(c)
            else:
                others.append(c)
        self.modules.append(
            {
                "name": name,
                "kind": kind,
                "line": self.node_line(m),
                "instances": instances,
                "run_test": run_test,
            }
        )
        self.members(others, name, "module")

    def covergroup(self, m: Any, scope: str | None) -> None:
        points: list[str] = []
        crosses: list[str] = []
        for c in m.members:
            if not isinstance(c, syntax.SyntaxNode):
                continue
            if c.kind == SK.Coverpoint:
                points.append(c.label.name.valueText if c.label is not None else _text(c.expr))
            elif c.kind == SK.CoverCross:
                if c.label is not None:
                    crosses.append(c.label.name.valueText)
                else:
                    crosses.append("_x_".join(_text(i) for i in c.items if isinstance(i, syntax.SyntaxNode)))
        self.covergroups.append(
            {
                "name": _tok_text(m.name),
                "line": self.node_line(m),
                "scope": scope,
                "coverpoints": points,
                "crosses": crosses,
            }
        )

    def extern_def(self, m: Any) -> None:
        proto = m.prototype
        pname = proto.name
        if pname.kind != SK.ScopedName or pname.separator.valueText != "::":
            return
        cls = name_of(pname.left)
        method = name_of(pname.right)
        if not cls or not method:
            return
        sp = self.span(m.getFirstToken(), m.getLastToken())
        starts: list[dict] = []
        locals_: dict[str, str] = {}
        assigns: dict[str, str] = {}
        scan_body(m, method, starts, locals_, assigns)
        self.externs.append(
            {
                "cls": cls,
                "method": method,
                "span": sp,
                "starts": starts,
                "locals": locals_,
                "assigns": assigns,
            }
        )

    def klass(self, m: Any, scope: str | None, scope_kind: str) -> None:
        name = _tok_text(m.name)
        first = m.virtualOrInterface if m.virtualOrInterface else m.classKeyword
        last = m.endBlockName.getLastToken() if m.endBlockName is not None else m.endClass
        sp = self.span(first, last)
        is_virtual = bool(m.virtualOrInterface) and m.virtualOrInterface.valueText == "virtual"
        base = base_scope = None
        base_args: list[str] = []
        ext = m.extendsClause
        if ext is not None:
            bn = ext.baseName
            base = name_of(bn)
            base_scope = _scope_of(bn)
            target = bn.right if bn.kind == SK.ScopedName else bn
            if target.kind == SK.ClassName:
                base_args = _param_names(target.parameters)
        props: dict[str, str] = {}
        methods: list[str] = []
        starts: list[dict] = []
        assigns: dict[str, str] = {}
        method_locals: dict[str, dict[str, str]] = {}
        fields_tlm: list[str] = []
        nested: list[Any] = []
        for it in m.items:
            if not isinstance(it, syntax.SyntaxNode):
                continue
            k = it.kind
            if k == SK.ClassPropertyDeclaration:
                decl = it.declaration
                if decl.kind == SK.DataDeclaration:
                    t = name_of(decl.type)
                    if t:
                        for d in decl.declarators:
                            if isinstance(d, syntax.SyntaxNode):
                                props[d.name.valueText] = t
                        if t.startswith(
                            (
                                "uvm_analysis_imp",
                                "uvm_tlm_analysis_fifo",
                                "uvm_analysis_export",
                                "uvm_tlm_fifo",
                                "uvm_blocking_get_port",
                                "uvm_get_port",
                            )
                        ):
                            fields_tlm.append(t)
            elif k == SK.ClassMethodDeclaration:
                fd = it.declaration
                mname = name_of(fd.prototype.name)
                if mname:
                    methods.append(mname)
                    loc: dict[str, str] = {}
                    scan_body(fd, mname, starts, loc, assigns)
                    method_locals[mname] = loc
            elif k == SK.ClassMethodPrototype:
                mname = name_of(it.prototype.name)
                if mname:
                    methods.append(mname)
            elif k == SK.ClassDeclaration:
                nested.append(it)
            elif k == SK.CovergroupDeclaration:
                self.covergroup(it, name)
        # variables local to one method shadow properties for starts in that method
        for st in starts:
            var = st["var"]
            if var and not st["type"]:
                loc = method_locals.get(st["method"], {})
                if var in loc:
                    st["type"] = assigns.get(var) or loc[var]
        self.classes.append(
            {
                "name": name,
                "line": sp["line"] if sp else self.node_line(m),
                "span": sp,
                "is_virtual": is_virtual,
                "base": base,
                "base_scope": base_scope,
                "base_args": base_args,
                "params": m.parameters is not None,
                "scope": scope,
                "scope_kind": scope_kind,
                "props": props,
                "methods": methods,
                "starts": starts,
                "assigns": assigns,
                "tlm": fields_tlm,
            }
        )
        for n in nested:
            self.klass(n, name, "class")


def _calls_run_test(node: Any) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind == SK.InvocationExpression and name_of(n.left) == "run_test":
            return True
        stack.extend(c for c in n if isinstance(c, syntax.SyntaxNode))
    return False


def _newlines(data: bytes) -> list[int]:
    out = []
    i = data.find(b"\n")
    while i >= 0:
        out.append(i)
        i = data.find(b"\n", i + 1)
    return out
