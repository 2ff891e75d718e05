"""One file -> pyslang syntax tree -> plain facts (JSON-able dicts, cached per file).

Each file is parsed on its own: `include directives are recorded, not expanded (the include graph
is resolved later, across the repo), so every fact belongs to the file where its text is literally
written and byte offsets are offsets in that file. UVM macros come from a stub prelude
(``uvm_macros.PRELUDE``); macros the repo defines itself are supplied on a second pass when a file
uses one that its own text does not define.
"""

from __future__ import annotations

import atexit
import bisect
import codecs
import hashlib
import re
from typing import Any

import pyslang
from pyslang import parsing, syntax

from dvsmith.analysis import limits, uvm_flavour
from dvsmith.analysis.limits import FACTS_VERSION, MAX_FILE_BYTES  # noqa: F401 (re-exported)
from dvsmith.analysis.uvm_macros import DO_MARKER, DO_ON_MARKER, PRELUDE, generic_stub

SK = syntax.SyntaxKind
Facts = dict[str, Any]

#: bump when the shape or meaning of the facts changes (invalidates every parse cache)
MAX_DIAGS_PER_FILE = 20

_IGNORED_DIAGS = {
    pyslang.Diags.CouldNotOpenIncludeFile,
    pyslang.Diags.ExceededMaxIncludeDepth,
    pyslang.Diags.UnknownDirective,
}
_DEFINE_LINE = re.compile(rb"^[ \t]*`define[ \t]+([A-Za-z_][A-Za-z0-9_$]*)")


def _qmark_errors(err: UnicodeDecodeError) -> tuple[str, int]:
    # one '?' per undecodable byte keeps byte offsets of the re-encoded text equal to the file's
    return "?" * (err.end - err.start), err.end


codecs.register_error("dvsmith_qmark", _qmark_errors)


class _Parser:
    """Process-wide parsing state: one SourceManager and the parsed UVM prelude."""

    def __init__(self) -> None:
        self.sm = pyslang.SourceManager()
        self.engine = pyslang.DiagnosticEngine(self.sm)
        self._keep: list[Any] = []  # prelude trees must outlive the macros taken from them
        self.prelude_defs = self.macro_defs(PRELUDE, "dvsmith_uvm_prelude.svh")
        self.counter = 0

    def macro_defs(self, text: str, name: str) -> list[Any]:
        buf = self.sm.assignText(name, text)
        tree = syntax.SyntaxTree.fromBuffers([buf], self.sm, pyslang.Bag([parsing.PreprocessorOptions()]), [])
        self._keep.append(tree)
        out = []
        for trivia in tree.root.getLastToken().trivia:
            node = trivia.syntax()
            if node is not None and node.kind == SK.DefineDirective:
                out.append(node)
        return out

    def parse(self, text: str, defines: list[str], extra_macros: str = "") -> tuple[Any, Any]:
        self.counter += 1
        po = parsing.PreprocessorOptions()
        po.maxIncludeDepth = 0
        if defines:
            po.predefines = defines
        inherited = list(self.prelude_defs)
        if extra_macros:
            inherited += self.macro_defs(extra_macros, f"dvsmith_repo_macros_{self.counter}.svh")
        buf = self.sm.assignText(f"dvsmith_src_{self.counter}.sv", text)
        tree = syntax.SyntaxTree.fromBuffers([buf], self.sm, pyslang.Bag([po]), inherited)
        return tree, buf


_PARSER: _Parser | None = None


def _drop_parser() -> None:
    # release pyslang objects before interpreter teardown (avoids nanobind leak reports on exit)
    global _PARSER
    _PARSER = None


atexit.register(_drop_parser)


def _parser() -> _Parser:
    global _PARSER
    if _PARSER is None:
        _PARSER = _Parser()
    return _PARSER


def decode(data: bytes) -> tuple[str, bool]:
    """Text for pyslang whose UTF-8 encoding has the file's byte offsets; True when bytes were bad."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="dvsmith_qmark"), True


def scan_macro_defs(data: bytes) -> dict[str, str]:
    """`define directives of a file (line level, with backslash continuations): name -> text."""
    if b"`define" not in data:
        return {}
    out: dict[str, str] = {}
    lines = data.split(b"\n")
    i = 0
    while i < len(lines):
        m = _DEFINE_LINE.match(lines[i])
        if m:
            chunk = [lines[i]]
            while chunk[-1].rstrip().endswith(b"\\") and i + 1 < len(lines):
                i += 1
                chunk.append(lines[i])
            out[m.group(1).decode("ascii")] = b"\n".join(chunk).decode("utf-8", errors="replace").strip()
        i += 1
    return out


# ---------------------------------------------------------------------------- syntax helpers


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


def _creation_type(expr: Any) -> str | None:
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
        return None, _creation_type(node)
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


def _args(inv: Any) -> list[Any]:
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
                            ct = _creation_type(_unwrap(init.expr))
                            if ct:
                                assigns[d.name.valueText] = ct
        elif k in _ASSIGN_KINDS:
            var, _ = _receiver(n.left)
            ct = _creation_type(n.right)
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
            args = _args(n)
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
            args = _args(n)
            sqr = _text(args[0]) if args and args[0] is not None else ""
            starts.append({"var": var, "type": typ, "sqr": sqr, "how": "start", "method": method})
        elif last == "set" and lk == SK.ScopedName and "uvm_config_db" in _text(left.left):
            args = _args(n)
            key = args[2] if len(args) >= 4 else None
            if (
                key is not None
                and key.kind == SK.StringLiteralExpression
                and key.literal.valueText.strip('"') == "default_sequence"
            ):
                typ = _creation_type(args[3])
                var = None if typ else _receiver(args[3])[0]
                if typ or var:
                    starts.append({"var": var, "type": typ, "sqr": "", "how": "default_sequence", "method": method})


# ---------------------------------------------------------------------------- file walk


class _Walker:
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


def _unknown_macros(tree: Any) -> list[str]:
    out = []
    for d in tree.diagnostics:
        if d.code == pyslang.Diags.UnknownDirective and d.args:
            out.append(str(d.args[0]).lstrip("`"))
    return out


def parse_bytes(data: bytes, defines: list[str], macro_table: dict[str, str] | None = None) -> Facts:
    """Parse one file's content and return its facts (no path, size or mtime: the caller adds those)."""
    facts: Facts = {"sha256": hashlib.sha256(data).hexdigest(), "diagnostics": [], "macro_defs": {}}
    if len(data) > limits.MAX_FILE_BYTES:
        return skipped_facts(facts["sha256"], f"file skipped: larger than {limits.MAX_FILE_BYTES} bytes")
    text, bad = decode(data)
    if bad:
        facts["diagnostics"].append({"line": 0, "message": "non-UTF-8 bytes (analysed with them replaced)"})
    own_macros = scan_macro_defs(data)
    facts["macro_defs"] = own_macros
    facts["uvm_uses"] = [{"line": u.line, "api": u.api} for u in uvm_flavour.scan_text(text, "")]
    p = _parser()
    try:
        tree, buf = p.parse(text, defines)
        unknown = [u for u in _unknown_macros(tree) if u not in own_macros]
        used: dict[str, str] = {}
        wanted: list[str] = []
        # supply missing macros; an expansion can reveal more, so a few rounds
        for _round in range(4):
            new = [u for u in dict.fromkeys(unknown) if u not in wanted]
            if not new:
                break
            wanted += new
            extra, used = _extra_macros(wanted, macro_table or {}, text)
            if not extra:
                break
            tree, buf = p.parse(text, defines, extra)
            unknown = [u for u in _unknown_macros(tree) if u not in own_macros]
        facts["repo_macros_used"] = used
        facts["unknown_macros"] = sorted(set(unknown))
        return _extract(tree, buf, data, facts)
    except Exception as exc:  # pyslang failure on pathological input: keep going with a diagnostic
        facts["diagnostics"].append({"line": 0, "message": f"parser failed: {type(exc).__name__}: {exc}"})
        return _empty(facts)


_MACRO_REF = re.compile(r"`([A-Za-z_][A-Za-z0-9_$]*)")


def _extra_macros(unknown: list[str], table: dict[str, str], text: str) -> tuple[str, dict[str, str]]:
    """Definitions for macros a file uses but does not define: the repo's own, else (for `uvm_*`
    names the prelude lacks) a stub that swallows the use. Returns the text and the repo macros used."""
    chunks: list[str] = []
    used: dict[str, str] = {}
    seen: set[str] = set()
    todo = list(dict.fromkeys(unknown))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in table:
            body = table[name]
            chunks.append(body)
            used[name] = body
            # macros used inside the definition need definitions too
            todo.extend(ref for ref in _MACRO_REF.findall(body.split(name, 1)[-1]) if ref not in seen)
        elif name.startswith(("uvm_", "UVM_")):
            idx = text.find("`" + name)
            after = text[idx + len(name) + 1 :].lstrip(" \t")[:1] if idx >= 0 else ""
            chunks.append(generic_stub(name, after == "(").strip())
    return ("\n".join(chunks) + "\n" if chunks else ""), used


def skipped_facts(sha256: str, message: str) -> Facts:
    """Facts of a file that was not parsed (too large), with the reason as a diagnostic."""
    return _empty({"sha256": sha256, "diagnostics": [{"line": 0, "message": message}], "skipped": True})


def _empty(facts: Facts) -> Facts:
    facts.update(
        classes=[],
        externs=[],
        covergroups=[],
        packages=[],
        modules=[],
        imports=[],
        includes=[],
        unknown_macros=facts.get("unknown_macros", []),
        repo_macros_used=facts.get("repo_macros_used", {}),
    )
    facts.setdefault("macro_defs", {})
    facts.setdefault("uvm_uses", [])
    return facts


def _extract(tree: Any, buf: Any, data: bytes, facts: Facts) -> Facts:
    w = _Walker(tree, buf, data)
    w.members(tree.root.members, None, "unit")
    includes = []
    for inc in tree.getIncludeDirectives():
        if inc.isSystem:
            continue
        off = w._loc(inc.syntax.directive)
        if off is None:
            continue
        includes.append({"path": inc.path, "offset": off, "line": w.line(off)})
    diags = facts["diagnostics"]
    p = _parser()
    for d in tree.diagnostics:
        if d.code in _IGNORED_DIAGS or not d.isError():
            continue
        if len(diags) >= MAX_DIAGS_PER_FILE:
            break
        loc = d.location
        line = w.line(loc.offset) if loc.buffer == w.buf_id else 0
        try:
            msg = p.engine.formatMessage(d)
        except Exception:
            msg = str(d.code)
        diags.append({"line": line, "message": msg})
    facts.update(
        classes=w.classes,
        externs=w.externs,
        covergroups=w.covergroups,
        packages=w.packages,
        modules=w.modules,
        imports=sorted(w.imports),
        includes=includes,
    )
    return facts
