"""Diagnosis of a failed Verilator compile: the log's errors sorted into cause classes, one line each.

Classes, in the order they are worth fixing:

- ``missing_include``: ``Cannot find include file``; the repo is searched for the file and the folder
  that would have found it is named (put it in ``dvsmith.toml`` ``incdirs`` when detection missed it);
- ``uvm_1x_api``: a UVM 1.1/1.2 name 1800.2-2017 lacks (``uvm_test_done``, `` `uvm_do_with``, ...);
- ``unsupported``: a construct Verilator does not support (``%Error-UNSUPPORTED``, or an upward name in a
  ``bind``'s port connections, which Verilator cannot resolve), with file:line;
- ``verilator_internal``: Verilator failed internally (``Internal Error``) or generated C++ that does not
  compile (a Verilator bug, not the testbench's);
- ``testbench_error``: any other ``%Error`` with file:line: a genuine error in the testbench (or code
  written for another simulator's leniency);
- ``toolchain``: make/ld/g++ failures with no Verilator error (missing tools, linker errors).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from dvsmith.analysis.uvm_flavour import CONSTRUCTS

_VL_ERR = re.compile(
    r"^%(?:Error|Fatal)(?:-(?P<code>[A-Z0-9_]+))?: (?:(?P<file>[^:\s][^:]*):(?P<line>\d+):(?:\d+:)?\s*)?(?P<msg>.*)$"
)
_INCLUDE = re.compile(r"Cannot find include file: ['\"]?(?P<inc>[^'\"\s]+)['\"]?")
_NAME = re.compile(r"['\"]`?(?P<name>`?[A-Za-z_][A-Za-z0-9_$]*)['\"]")
_EXCERPT = re.compile(r"^\s+\d+ \| (?P<src>.*)$")  # the source line Verilator prints under an error
_INTERNAL = re.compile(  # "Internal Error: <file>:<line>:<col>: /.../V3X.cpp:<n>: <what>"
    r"^Internal Error: (?P<file>[^:\s][^:]*):(?P<line>\d+):(?:\d+:)?\s*"
    r"(?:(?P<src>\S+\.cpp):(?P<n>\d+):\s*)?(?P<what>.*)$"
)
_CXX_ERR = re.compile(r"^(?P<file>\S+\.(?:cpp|h)):(?P<line>\d+):\d+: (?:fatal )?error: (?P<msg>.*)$")
_OTHER = (re.compile(r"^make(\[\d+\])?: \*\*\* "), re.compile(r"^/usr/bin/ld: "), re.compile(r"collect2: error"))
ORDER = ("missing_include", "uvm_1x_api", "unsupported", "verilator_internal", "testbench_error", "toolchain")


class Cause(BaseModel):
    kind: str
    message: str  # the one line shown to the user
    file: str | None = None
    line: int | None = None
    count: int = 1  # errors of this class in the log
    fix: str | None = None  # what would fix it, when known (e.g. "+incdir+tb/include")


class Diagnosis(BaseModel):
    causes: list[Cause] = Field(default_factory=list)

    def lines(self) -> list[str]:
        return [c.message for c in self.causes]


def _rel(path: str, roots: Iterable[str]) -> str:
    for r in roots:
        r = r.rstrip("/")
        if r and path.startswith(r + "/"):
            return path[len(r) + 1 :]
    return path


def find_include_folder(inc: str, repo_files: Iterable[str], near: str | None = None) -> str | None:
    """The repo folder that, as an include folder, would find `` `include "inc" ``."""
    norm = posixpath.normpath(inc.replace("\\", "/"))
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    while parts and parts[0] == "..":
        parts.pop(0)
    if not parts:
        return None
    tail = "/".join(parts)
    hits = [f for f in repo_files if f == tail or f.endswith("/" + tail)]
    if not hits:
        return None
    if near:
        here = posixpath.dirname(near)
        hits.sort(key=lambda f: (-len(posixpath.commonpath([f, here])) if here else 0, f.count("/"), f))
    else:
        hits.sort(key=lambda f: (f.count("/"), f))
    folder = hits[0][: -len(tail)].rstrip("/") or "."
    return folder


def diagnose(log_text: str, *, roots: Iterable[str] = (), repo_files: Iterable[str] = ()) -> Diagnosis:
    """One cause per class found in the compile log (first occurrence named, others counted)."""
    roots = [str(r) for r in roots]
    files = list(repo_files)
    found: dict[str, Cause] = {}

    def add(kind: str, message: str, file: str | None = None, line: int | None = None, fix: str | None = None) -> None:
        if kind in found:
            found[kind].count += 1
            return
        found[kind] = Cause(kind=kind, message=message, file=file, line=line, fix=fix)

    log_lines = log_text.splitlines()
    for i, raw in enumerate(log_lines):
        s = raw.rstrip()
        m = _VL_ERR.match(s)
        if m:
            code, file, msg = m.group("code"), m.group("file"), m.group("msg").strip()
            line = int(m.group("line")) if m.group("line") else None
            rel = _rel(file, roots) if file else None
            where = f"{rel}:{line}" if rel and line else (rel or "?")
            if msg.startswith("Exiting due to") or msg.startswith("Command Failed"):
                continue
            if msg.startswith("Verilator aborted"):  # it crashed: say how (the line before names the throw)
                thrown = next((x.strip() for x in reversed(log_lines[max(0, i - 3) : i])
                               if x.strip().startswith(("what():", "terminate called", "Segmentation"))), "")
                add("verilator_internal", "Verilator crashed" + (f" ({thrown[:120]})" if thrown else "")
                    + " with no source position: a Verilator bug (the bench's code may be fine)")  # fmt: skip
                continue
            inc = _INCLUDE.search(msg)
            if inc:
                folder = find_include_folder(inc.group("inc"), files, rel)
                if folder:
                    add("missing_include", f"missing include: {inc.group('inc')} (included at {where}); the folder "
                        f"that would find it: {folder} (+incdir+{folder})", rel, line, f"+incdir+{folder}")  # fmt: skip
                else:
                    add("missing_include", f"missing include: {inc.group('inc')} (included at {where}); no such file "
                        "in the repository", rel, line)  # fmt: skip
                continue
            names = {n.group("name") for n in _NAME.finditer(msg)}
            uvm = sorted(n for n in names if n in CONSTRUCTS or ("`" + n) in CONSTRUCTS)
            if uvm:
                name = uvm[0] if uvm[0] in CONSTRUCTS else "`" + uvm[0]
                flav = CONSTRUCTS[name][0]
                add("uvm_1x_api", f"UVM {flav} API {name} at {where}: not in UVM 1800.2-2017"
                    + ("" if CONSTRUCTS[name][2] else " (compile with +define+UVM_ENABLE_DEPRECATED_API or port it)"),
                    rel, line)  # fmt: skip
                continue
            excerpt = _EXCERPT.match(log_lines[i + 1]) if i + 1 < len(log_lines) else None
            in_bind = excerpt is not None and excerpt.group("src").lstrip().startswith("bind ")
            if msg.startswith("Can't find definition of") and in_bind:
                what = f"'{next(iter(names))}'" if len(names) == 1 else "a name"
                add("unsupported", f"Verilator does not resolve the upward name {what} in a bind's port "
                    f"connections at {where} (IEEE 1800 and Questa do): connect the bind target's own ports",
                    rel, line)  # fmt: skip
                continue
            if "Internal Error" in msg or code == "INTERNAL":
                ie = _INTERNAL.match(msg)
                if ie:  # the source position is inside the message: name it repo-relative
                    rel, line = _rel(ie.group("file"), roots), int(ie.group("line"))
                    where = f"{rel}:{line}"
                    src = f" ({posixpath.basename(ie.group('src'))}:{ie.group('n')})" if ie.group("src") else ""
                    msg = ie.group("what").strip() + src
                add("verilator_internal", f"Verilator internal error at {where}: {msg[:160]}", rel, line)
                continue
            if code == "UNSUPPORTED" or msg.startswith("Unsupported"):
                add("unsupported", f"Verilator does not support {msg.removeprefix('Unsupported: ')[:160]} at {where}",
                    rel, line)  # fmt: skip
                continue
            add("testbench_error", f"testbench error at {where}: {msg[:200]}", rel, line)
            continue
        c = _CXX_ERR.match(s)
        if c:
            where = f"{posixpath.basename(c.group('file'))}:{c.group('line')}"
            add("verilator_internal", f"Verilator generated C++ that does not compile ({where}: "
                f"{c.group('msg')[:120]}): a Verilator code-generation bug")  # fmt: skip
            continue
        if any(r.match(s) for r in _OTHER) and not found:
            add("toolchain", f"build tool failed: {s[:200]}")
    causes = sorted(found.values(), key=lambda c: ORDER.index(c.kind))
    for c in causes:
        if c.count > 1:
            c.message += f" (+{c.count - 1} more)"
    return Diagnosis(causes=causes)


def internal_error(log_text: str) -> bool:
    """Verilator failed internally (retrying with other flags may help)."""
    return "Internal Error" in log_text or "%Error: Internal" in log_text


_RUN_ERR = re.compile(r"%Error: (?P<file>[^:\s]+\.s?vh?):(?P<line>\d+):")


def four_state_uses(text: str) -> list[tuple[int, str]]:
    """Where a file's code reads X/Z values (``$isunknown``, ``=== 'x``/``!== 1'bz``): constructs whose
    result is fixed under Verilator's 2-state simulation (an X is a 0 there). Comments and strings do
    not count (pyslang's lexer)."""
    from pyslang import BumpAllocator, Diagnostics, SourceManager
    from pyslang.parsing import Lexer, TokenKind

    sm = SourceManager()
    lexer = Lexer(sm.assignText("f.sv", text), BumpAllocator(), Diagnostics(), sm)
    out: list[tuple[int, str]] = []
    literal: str | None = None  # the literal being read after === or !== (the lexer splits 4'b10x1)
    lit_line = 0
    digits = (TokenKind.IntegerLiteral, TokenKind.IntegerBase, TokenKind.UnbasedUnsizedLiteral)
    while True:
        tok = lexer.lex()
        if tok.kind == TokenKind.EndOfFile:
            break
        raw = tok.rawText
        if literal is not None:
            based = "'" in literal
            if tok.kind in digits or (tok.kind == TokenKind.Identifier and literal.endswith(tuple("'bBoOdDhH"))):
                literal += raw
                continue
            if tok.kind == TokenKind.Identifier and based and literal[-1:].isalnum():
                literal += raw  # digits after the base split into an identifier ("x1")
                continue
            if "'" in literal and re.search(r"'[sS]?[bBoOdDhH]?[0-9a-fA-F_]*[xXzZ?]|^'[xXzZ]$", literal):
                out.append((lit_line, f"comparison with {literal}"))
            literal = None
        if tok.kind == TokenKind.SystemIdentifier and raw == "$isunknown":
            out.append((sm.getLineNumber(tok.location), "$isunknown"))
        elif tok.kind in (TokenKind.TripleEquals, TokenKind.ExclamationDoubleEquals):
            literal, lit_line = "", sm.getLineNumber(tok.location)
    return out


def run_failure_hint(sim_errors: list[str], files: dict[str, Path]) -> str | None:
    """For a reference run that failed on a simulator error (an assertion) in a testbench file: when that
    file reads X/Z values, say so with file:line (Verilator simulates 2-state: the check cannot behave as
    on a 4-state simulator). ``files``: the unit's files, repo-relative path -> path on disk."""
    for err in sim_errors[:3]:
        m = _RUN_ERR.search(err)
        if not m:
            continue
        name = m.group("file")
        rel = name if name in files else next((r for r in sorted(files) if posixpath.basename(r) == name), None)
        if rel is None:
            continue
        try:
            text = files[rel].read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        uses = four_state_uses(text)
        if uses:
            line, what = uses[0]
            more = f" (+{len(uses) - 1} more)" if len(uses) > 1 else ""
            return (f"the failing check reads X/Z values, which Verilator's 2-state simulation never has: "
                    f"{what} at {rel}:{line}{more}")  # fmt: skip
    return None
