"""Rewrites of UVM 1.1/1.2 code for what UVM 1800.2-2017 has no longer even behind its deprecated API.

- ``starting_phase_accessors``: ``starting_phase`` was a ``uvm_sequence_base`` variable in 1.1 and 1.2 (1.2
  kept it behind ``UVM_DEPRECATED_STARTING_PHASE``); 2017 has only ``get_starting_phase()`` and
  ``set_starting_phase()``, so ``starting_phase.raise_objection(this)`` stops the compile ("Can't find
  definition of variable: 'starting_phase'"; Practical-UVM's vga_lcd and many of its sequences). A read
  becomes ``get_starting_phase()`` (``seq.starting_phase`` → ``seq.get_starting_phase()``); an assignment
  statement ``seq.starting_phase = phase;`` becomes ``seq.set_starting_phase(phase);``. The value is the same
  on every simulator: 2017's accessors hold what the variable held. Nothing changes when the unit declares a
  variable of that name itself (``RewriteContext.declares_starting_phase``).
- ``untyped_constructor_name``: ``function new(name = null);`` in a class (Practical-UVM's ``wb_env_cfg``,
  seven copies): an argument with neither type nor direction is a 1-bit ``logic`` (IEEE 1800 13.5), so the
  factory's ``create(string name)`` hands a string to a bit. VCS takes it; Verilator generates
  ``(IData)(name)`` from a ``std::string``, which g++/clang++ reject. The argument was meant as the object's
  name → ``function new(string name = "");`` (a ``null`` default becomes ``""``, a string literal stays). Only
  the first argument of a constructor, named ``name``, with a ``null`` or string default.
- ``empty_config_scope``: in a UVM 1.x unit, ``uvm_config_db#(T)::set(null, "", "f", v)`` (the top context, no
  instance name: Practical-UVM's ``*_tb_mod`` modules hand every agent its virtual interface this way).
  UVM 1.1/1.2 turned the empty glob into an empty regular expression, which matches every scope, so each
  component's ``get`` found it. 2017 turns it into ``/^$/``, which only the empty scope matches, when UVM's
  DPI is compiled in (its pure-SV matcher still matches all). A unit built with the DPI (it reads plusargs)
  then failed with "No virtual interface specified". ``""`` → ``"*"`` keeps what 1.x meant on both builds. Only
  a context of ``null``, ``uvm_root::get()`` or ``uvm_top``, and only in files of UVM 1.x units.
"""

from __future__ import annotations

from typing import Any

from pyslang.parsing import TokenKind

from dvsmith.sim.rewrites import SK, Edit, FileView, Rewrite, RewriteContext, elements, nodes

_NAME = "starting_phase"


def _access(n: Any) -> tuple[Any, str] | None:
    """The expression naming the variable (``starting_phase`` or ``x.starting_phase``) and its prefix."""
    p = n.parent
    if p is not None and p.kind == SK.ScopedName and p.right is n:
        if p.separator.kind != TokenKind.Dot:
            return None  # uvm_sequence_base::starting_phase: no variable use
        return p, str(p.left).strip() + "."
    if p is not None and p.kind == SK.ScopedName and p.left is n and p.separator.kind != TokenKind.Dot:
        return None
    if p is not None and p.kind in (SK.NamedType, SK.ClassName, SK.Declarator):
        return None
    return n, ""


class StartingPhaseAccessors(Rewrite):
    name = "starting_phase_accessors"
    summary = "UVM 1.x starting_phase variable -> get_starting_phase() / set_starting_phase(...) (2017 has no variable)"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return _NAME in text and not ctx.declares_starting_phase

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.IdentifierName or n.identifier.valueText != _NAME:
                continue
            found = _access(n)
            if found is None:
                continue
            expr, prefix = found
            stmt = expr.parent
            if (stmt is not None and stmt.kind == SK.AssignmentExpression and stmt.left is expr
                    and stmt.parent is not None and stmt.parent.kind == SK.ExpressionStatement):  # fmt: skip
                s, e = view.start(stmt), view.end(stmt)
                value = view.src(stmt.right)
                if s is None or e is None:
                    continue
                new = f"{prefix}set_starting_phase({value})"
                out.append(Edit(s, e, new, view.line(s),
                                f"{view.src(stmt)} -> {new} (UVM 2017 has no starting_phase variable)"))  # fmt: skip
                continue
            if stmt is not None and stmt.kind == SK.AssignmentExpression and stmt.left is expr:
                continue  # an assignment used as a value: left alone (the compile names it)
            s, e = view.start(expr), view.end(expr)
            if s is None or e is None:
                continue
            new = f"{prefix}get_starting_phase()"
            out.append(Edit(s, e, new, view.line(s),
                            f"{view.src(expr)} -> {new} (UVM 2017 has no starting_phase variable)"))  # fmt: skip
        return out + _in_macro_arguments(view)


#: directives that are no macro usage (a `` `define X(a)``'s own parameter list is no argument list)
_DIRECTIVES = frozenset({"`define", "`ifdef", "`ifndef", "`elsif", "`else", "`endif", "`include", "`timescale",
                         "`undef", "`line", "`pragma", "`resetall", "`celldefine", "`endcelldefine",
                         "`default_nettype", "`begin_keywords", "`end_keywords", "`__FILE__", "`__LINE__"})  # fmt: skip


def _is_macro_usage(tok: Any) -> bool:
    return tok.kind == TokenKind.Directive and tok.rawText not in _DIRECTIVES


def _in_macro_arguments(view: FileView) -> list[Edit]:
    """Reads in macro arguments (`` `uvm_info(ID, $sformatf("%s", starting_phase.get_name()), ...)``): file
    text the tree only holds as macro output, so found with pyslang's lexer. An argument is an expression:
    every ``starting_phase`` there is a read (``==``, never ``=``)."""
    from pyslang import BumpAllocator, Diagnostics, SourceManager
    from pyslang.parsing import Lexer

    sm = SourceManager()
    lexer = Lexer(sm.assignText(view.rel, view.text), BumpAllocator(), Diagnostics(), sm)
    toks: list[Any] = []
    while (tok := lexer.lex()).kind != TokenKind.EndOfFile:
        toks.append(tok)
    out: list[Edit] = []
    depth = 0  # parentheses open since a macro usage's own "("
    for k, tok in enumerate(toks):
        if depth == 0:
            if tok.kind == TokenKind.OpenParenthesis and k > 0 and _is_macro_usage(toks[k - 1]):
                depth = 1
            continue
        if tok.kind == TokenKind.OpenParenthesis:
            depth += 1
        elif tok.kind == TokenKind.CloseParenthesis:
            depth -= 1
        elif tok.kind == TokenKind.Identifier and tok.valueText == _NAME:
            before = toks[k - 1].kind if k else None
            after = toks[k + 1].kind if k + 1 < len(toks) else None
            if before == TokenKind.DoubleColon or after == TokenKind.Equals:
                continue
            s = tok.location.offset
            e = s + len(tok.rawText.encode())
            out.append(Edit(s, e, "get_starting_phase()", view.line(s),
                            f"{_NAME} -> get_starting_phase() in a macro argument (UVM 2017 has no starting_phase "
                            f"variable)"))  # fmt: skip
    return out


class UntypedConstructorName(Rewrite):
    name = "untyped_constructor_name"
    summary = 'new(name = null) -> new(string name = "") (an untyped argument is 1-bit logic; names are strings)'

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "new" in text and "name" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.FunctionPrototype or n.portList is None:
                continue
            callee = n.name.right if n.name.kind == SK.ScopedName else n.name
            if callee.kind != SK.ConstructorName:
                continue
            ports = elements(n.portList.ports)
            if not ports or ports[0].kind != SK.FunctionPort:
                continue
            port = ports[0]
            init = port.declarator.initializer
            if (port.dataType is not None or str(port.direction).strip() or str(port.varKeyword).strip()
                    or str(port.constKeyword).strip() or port.declarator.name.valueText != "name"
                    or init is None or init.expr.kind not in (SK.NullLiteralExpression, SK.StringLiteralExpression)
                    or port.declarator.dimensions):  # fmt: skip
                continue
            s, e = view.start(port.declarator), view.end(port.declarator)
            if s is None or e is None:
                continue
            default = '""' if init.expr.kind == SK.NullLiteralExpression else view.src(init.expr)
            new = f"string name = {default}"
            out.append(Edit(s, e, new, view.line(s), f"new({view.src(port)}) -> new({new}) (an untyped argument is "
                            f"a 1-bit logic; the factory passes the name as a string)"))  # fmt: skip
        return out


_TOP_CONTEXTS = frozenset({"null", "uvm_root::get()", "uvm_top", "uvm_root::get ()"})


class EmptyConfigScope(Rewrite):
    name = "empty_config_scope"
    summary = 'UVM 1.x uvm_config_db::set(null, "", ...) -> set(null, "*", ...) (1.x matched every scope; 2017 none)'

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return bool(ctx.uvm_1x_files) and "uvm_config_db" in text and '""' in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        if view.rel not in ctx.uvm_1x_files:
            return []
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.InvocationExpression or n.arguments is None or n.left.kind != SK.ScopedName:
                continue
            callee = n.left
            if str(callee.right).strip() != "set" or str(callee.left).split("#")[0].strip() != "uvm_config_db":
                continue
            args = elements(n.arguments.parameters)
            if len(args) != 4 or any(a.kind != SK.OrderedArgument for a in args[:2]):
                continue
            if " ".join(str(args[0]).split()) not in _TOP_CONTEXTS or str(args[1]).strip() != '""':
                continue
            s, e = view.start(args[1]), view.end(args[1])
            if s is None or e is None:
                continue
            what = (f'uvm_config_db::set({str(args[0]).strip()}, "", ...) -> set(..., "*", ...) (UVM 1.x matched '
                    f"an empty scope everywhere; 2017 only at the top)")
            out.append(Edit(s, e, '"*"', view.line(s), what))
        return out
