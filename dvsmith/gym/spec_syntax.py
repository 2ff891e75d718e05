"""pyslang syntax helpers for the task facts (``dvsmith.gym.spec_extract``).

A parser with UVM macro stubs that keep sequence starts (`uvm_do` family) and report macros (`uvm_info`,
...) visible as calls, and small readers of its syntax nodes: their text, string literal values, call
arguments, dotted names, and a walk over a node's descendants. Nothing here knows the facts' records.
"""

from __future__ import annotations

import atexit
import re
from collections.abc import Iterable
from typing import Any

import pyslang
from pyslang import parsing, syntax

from dvsmith.analysis.uvm_macros import DO_ON_MARKER, PRELUDE
from dvsmith.analysis.walker import creation_type

SK = syntax.SyntaxKind

REPORT_MARKER = "dvsmith__report"
_REPORT_MACROS = ("uvm_info", "uvm_warning", "uvm_error", "uvm_fatal")


def _prelude() -> str:
    lines = []
    for line in PRELUDE.splitlines():
        if any(line.startswith(f"`define {m}(") for m in _REPORT_MACROS):
            continue
        lines.append(line)
    # UVM 1800.2-2017: `uvm_do(SEQ_OR_ITEM, SEQR=get_sequencer(), PRIORITY=-1, CONSTRAINTS={})
    lines = [ln for ln in lines if not ln.startswith("`define uvm_do(")]
    lines.append(f"`define uvm_do(S,Q=,A2=,A3=,A4=,A5=,A6=,A7=) begin {DO_ON_MARKER}(S, Q); end")
    for m in _REPORT_MACROS:
        args = "ID,MSG,A2=,A3=,A4=,A5=,A6=,A7="
        lines.append(f'`define {m}({args}) begin {REPORT_MARKER}("{m}", ID, MSG); end')
    return "\n".join(lines) + "\n"


class _SpecParser:
    def __init__(self) -> None:
        self.sm = pyslang.SourceManager()
        buf = self.sm.assignText("dvsmith_spec_prelude.svh", _prelude())
        tree = syntax.SyntaxTree.fromBuffers([buf], self.sm, pyslang.Bag([parsing.PreprocessorOptions()]), [])
        self._keep: list[Any] = [tree]
        self.defs = [
            tr.syntax() for tr in tree.root.getLastToken().trivia
            if tr.syntax() is not None and tr.syntax().kind == SK.DefineDirective
        ]
        self.n = 0

    def parse(self, text: str, defines: list[str]) -> Any:
        self.n += 1
        po = parsing.PreprocessorOptions()
        po.maxIncludeDepth = 0
        if defines:
            po.predefines = defines
        buf = self.sm.assignText(f"dvsmith_spec_{self.n}.sv", text)
        return syntax.SyntaxTree.fromBuffers([buf], self.sm, pyslang.Bag([po]), list(self.defs))


_PARSER: _SpecParser | None = None


def _drop() -> None:
    global _PARSER
    _PARSER = None


atexit.register(_drop)


def spec_parser() -> _SpecParser:
    global _PARSER
    if _PARSER is None:
        _PARSER = _SpecParser()
    return _PARSER


def node_text(node: Any) -> str:
    return " ".join(str(node).split()) if node is not None else ""


def string_literal(node: Any) -> str | None:
    """The value of a string literal expression (None when it is not one)."""
    if node is not None and node.kind == SK.StringLiteralExpression:
        return node.literal.valueText
    return None


def dotted(node: Any) -> list[str]:
    """``a.b.c`` (a ScopedName or MemberAccess chain) -> ["a", "b", "c"]; [] when not a plain chain."""
    if node is None:
        return []
    k = node.kind
    if k in (SK.IdentifierName, SK.IdentifierSelectName):
        return [node.identifier.valueText]
    if k == SK.ThisHandle:
        return ["this"]
    if k == SK.ScopedName:
        if node.separator.valueText != ".":
            return []
        left = dotted(node.left)
        right = dotted(node.right)
        return left + right if left and right else []
    if k == SK.MemberAccessExpression:
        left = dotted(node.left)
        return [*left, node.name.valueText] if left else []
    if k == SK.ElementSelectExpression:
        return dotted(node.left)
    return []


def type_arg(expr: Any) -> str:
    """A factory-override argument: ``X::get_type()`` -> X, ``"X"`` -> X, else its text."""
    return creation_type(expr) or (string_literal(expr) or "").strip() or node_text(expr)



def walk(node: Any) -> Iterable[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed([c for c in n if isinstance(c, syntax.SyntaxNode)]))


def first_literal(node: Any) -> str | None:
    """The node's value when it is a string literal, else the first string literal inside it
    (``$sformatf("x=%0d", x)`` -> ``x=%0d``)."""
    if node is None:
        return None
    for n in walk(node):
        if n.kind == SK.StringLiteralExpression:
            return n.literal.valueText
    return None


def dotted_text(path: str) -> list[str]:
    """``env.agt.sqr`` (``env.sqr_h[0]``) -> parts; [] for anything that is not a plain dotted name."""
    if not path:
        return []
    path = re.sub(r"\[[^\]]*\]", "", path)
    parts = [p.strip() for p in path.split(".")]
    if all(p and (p[0].isalpha() or p[0] == "_") and p.replace("_", "").replace("$", "").isalnum() for p in parts):
        return parts
    return []
