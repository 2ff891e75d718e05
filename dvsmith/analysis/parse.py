"""One file -> pyslang syntax tree -> plain facts (JSON-able dicts, cached per file).

Each file is parsed on its own: `include directives are recorded, not expanded (the include graph
is resolved later, across the repo), so every fact belongs to the file where its text is literally
written and byte offsets are offsets in that file. UVM macros come from a stub prelude
(``uvm_macros.PRELUDE``); macros the repo defines itself are supplied on a second pass when a file
uses one that its own text does not define.
"""

from __future__ import annotations

import atexit
import codecs
import hashlib
import re
from typing import Any

import pyslang
from pyslang import parsing, syntax

from dvsmith.analysis import limits, uvm_flavour
from dvsmith.analysis.limits import FACTS_VERSION, MAX_FILE_BYTES  # noqa: F401 (re-exported)
from dvsmith.analysis.uvm_macros import PRELUDE, generic_stub
from dvsmith.analysis.walker import FactsWalker

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
    w = FactsWalker(tree, buf, data)
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
