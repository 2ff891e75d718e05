"""Token scans of source files with pyslang's lexer (comments and strings don't count): the one loop the
sim layer's quick checks share (register layer, HDL backdoor, module names, the UVM top)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from pyslang import BumpAllocator, Diagnostics, SourceManager
from pyslang.parsing import Lexer, Token, TokenKind

_MODULE_KEYWORDS = (TokenKind.ModuleKeyword, TokenKind.MacromoduleKeyword)
_LIFETIME = (TokenKind.AutomaticKeyword, TokenKind.StaticKeyword)


def read_source(f: Path) -> str | None:
    """The file's text (undecodable bytes replaced), or None when it cannot be read."""
    try:
        return f.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def tokens(f: Path, text: str) -> Iterator[Token]:
    """The file's tokens, up to (not including) the end of file."""
    sm = SourceManager()
    lexer = Lexer(sm.assignText(str(f), text), BumpAllocator(), Diagnostics(), sm)
    while True:
        tok = lexer.lex()
        if tok.kind == TokenKind.EndOfFile:
            return
        yield tok


def in_modules(toks: Iterable[Token]) -> Iterator[tuple[str | None, Token]]:
    """Each token with the name of the module it sits in (``module [automatic|static] name`` up to
    ``endmodule``; None outside a module). The name token itself is yielded with its module."""
    module: str | None = None
    expect_name = False
    for tok in toks:
        kind = tok.kind
        if kind in _MODULE_KEYWORDS:
            expect_name = True
        elif expect_name and kind == TokenKind.Identifier:
            module, expect_name = tok.valueText, False
        elif kind not in _LIFETIME:
            expect_name = False
        yield module, tok
        if kind == TokenKind.EndModuleKeyword:
            module = None


def find_uvm_top(sources: list[Path]) -> str | None:
    """The module whose body calls ``run_test`` (pyslang's lexer: comments and strings don't count)."""
    for src in sources:
        text = read_source(src)
        if text is None or "run_test" not in text:
            continue
        for module, tok in in_modules(tokens(src, text)):
            if module and tok.kind == TokenKind.Identifier and tok.valueText == "run_test":
                return module
    return None
