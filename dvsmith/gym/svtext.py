"""Text helpers shared by planning, cleaning and static checks.

SystemVerilog is read with pyslang's raw lexer (no preprocessing): every token and every trivia
(comments, whitespace, line ends) comes back with its byte offset, so edits are exact byte ranges of the
original file. Non-SV text (filelists, Makefiles, docs) is handled line by line.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyslang
from pyslang import parsing

SV_EXTS = frozenset({".sv", ".svh", ".v", ".vh", ".svi", ".sva", ".svp", ".vp", ".pkg"})
FILELIST_EXTS = frozenset({".f", ".flist", ".vc", ".fl", ".vf"})
DOC_EXTS = frozenset({".md", ".txt", ".rst", ".adoc", ".html", ".htm", ".org", ".tex"})

_EOF = parsing.TokenKind.EndOfFile


@dataclass(frozen=True, slots=True)
class Tok:
    """One token or trivia of a file. ``start``/``end`` are byte offsets; ``trivia`` marks comments,
    whitespace and line ends."""

    kind: str
    text: str
    start: int
    end: int
    trivia: bool


def is_sv(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in SV_EXTS


def is_filelist(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in FILELIST_EXTS


def is_doc(path: str) -> bool:
    name = posixpath.basename(path)
    return os.path.splitext(name)[1].lower() in DOC_EXTS or name.upper().startswith(("README", "CHANGELOG"))


def decode(data: bytes) -> tuple[str, str]:
    """Text and the codec that gives the same bytes back (utf-8, or latin-1 for anything else)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def _byte_offsets(text: str, codec: str) -> Callable[[int], int]:
    if codec == "latin-1" or text.isascii():
        return lambda i: i
    table = [0]
    total = 0
    for ch in text:
        total += len(ch.encode("utf-8", "surrogatepass"))
        table.append(total)
    return table.__getitem__


def lex(data: bytes) -> list[Tok]:
    """Every token and trivia of ``data`` in order, with byte offsets (no preprocessing)."""
    text, codec = decode(data)
    if "\x00" in text:
        text = text.replace("\x00", " ")
    to_byte = _byte_offsets(text, codec)
    sm = pyslang.SourceManager()
    buf = sm.assignText("dvsmith_lex.sv", text)
    lexer = parsing.Lexer(buf, pyslang.BumpAllocator(), pyslang.Diagnostics(), sm)
    out: list[Tok] = []
    pos = 0
    while True:
        tok = lexer.lex()
        for tr in tok.trivia:
            raw = tr.getRawText()
            if raw:
                out.append(Tok(tr.kind.name, raw, to_byte(pos), to_byte(pos + len(raw)), True))
                pos += len(raw)
        raw = tok.rawText
        if tok.kind == _EOF:
            break
        if raw:
            out.append(Tok(tok.kind.name, raw, to_byte(pos), to_byte(pos + len(raw)), False))
            pos += len(raw)
        if pos > len(text):  # defensive: the lexer never produces more text than it was given
            break
    return out


def line_starts(data: bytes) -> list[int]:
    starts = [0]
    idx = data.find(b"\n")
    while idx != -1:
        starts.append(idx + 1)
        idx = data.find(b"\n", idx + 1)
    return starts


def line_bounds(data: bytes, offset: int) -> tuple[int, int]:
    """[start, end) of the line holding ``offset``; ``end`` includes the newline when there is one."""
    start = data.rfind(b"\n", 0, offset) + 1
    nl = data.find(b"\n", offset)
    return start, (len(data) if nl == -1 else nl + 1)


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(r for r in ranges if r[1] > r[0]):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def in_ranges(starts: list[int], ranges: list[tuple[int, int]], off: int) -> bool:
    """``off`` lies in one of ``ranges`` (sorted, non-overlapping [start, end) pairs, as ``merge_ranges`` gives);
    ``starts`` is ``[r[0] for r in ranges]``, built once by the caller for the bisect."""
    i = bisect.bisect_right(starts, off) - 1
    return i >= 0 and off < ranges[i][1]


def apply_deletions(data: bytes, ranges: Iterable[tuple[int, int]]) -> bytes:
    """``data`` with the union of ``ranges`` cut out."""
    parts: list[bytes] = []
    pos = 0
    for s, e in merge_ranges(ranges):
        parts.append(data[pos:s])
        pos = max(pos, e)
    parts.append(data[pos:])
    return b"".join(parts)


def split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only, each keeping its newline (the last one may have none)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


_NAME_TOKEN = re.compile(rb"[A-Za-z0-9_$]+")
_PATH_TOKEN = re.compile(rb"[A-Za-z0-9_.$-]+")


def find_words(
    data: bytes, names: frozenset[str], basenames: frozenset[str] = frozenset()
) -> list[tuple[int, int, str]]:
    """Whole-word hits of ``names`` (identifier boundaries) and ``basenames`` (file-name boundaries).

    One linear scan per kind: maximal runs of word characters are looked up in a set, so the cost does
    not grow with the number of names.
    """
    hits: list[tuple[int, int, str]] = []
    # first the distinct words, found in C (a file without any of the names, the common case, costs one
    # findall); positions only for a file that has one. 448 MB of a real repo's reports: minutes -> seconds
    if names and not names.intersection(w.decode("latin-1") for w in set(_NAME_TOKEN.findall(data))):
        names = frozenset()
    if basenames and not basenames.intersection(w.decode("latin-1") for w in set(_PATH_TOKEN.findall(data))):
        basenames = frozenset()
    if names:
        for m in _NAME_TOKEN.finditer(data):
            w = m.group()
            if w[:1].isdigit():
                continue
            word = w.decode("latin-1")
            if word in names:
                hits.append((m.start(), m.end(), word))
    if basenames:
        for m in _PATH_TOKEN.finditer(data):
            word = m.group().decode("latin-1")
            if word in basenames:
                hits.append((m.start(), m.end(), word))
    hits.sort()
    return hits


def norm_rel(path: str) -> str | None:
    """A repo-relative POSIX path normalised, or None when it leaves the repo."""
    p = posixpath.normpath(path.replace("\\", "/"))
    if p.startswith("../") or p == ".." or p.startswith("/"):
        return None
    return p


def resolve_include(
    spec: str,
    including: str,
    incdirs: Iterable[str],
    exists: Callable[[str], bool],
    known: Iterable[str] = (),
) -> str | None:
    """Resolve an `include target to a repo-relative path the way the analyzer does.

    ``known`` are includes the analyzer already resolved for this file (tried first), then the folder
    of the including file, the compile units' include dirs, and the repo root.
    """
    spec = spec.strip().strip('"<>').strip()
    if not spec or spec.startswith("/"):
        return None
    tail = posixpath.normpath(spec)
    for k in known:
        if (k == tail or k.endswith("/" + tail)) and exists(k):
            return k
    candidates = [posixpath.join(posixpath.dirname(including), spec)]
    candidates += [posixpath.join(d, spec) for d in incdirs]
    candidates.append(spec)
    for c in candidates:
        rel = norm_rel(c)
        if rel is not None and exists(rel):
            return rel
    return None


_TRIVIAL_WORDS = re.compile(
    r"^(?:end|begin|endfunction|endtask|endclass|endcase|endgroup|join|join_any|join_none|fork|else|"
    r"endpackage|endmodule|endinterface|endsequence|endproperty|`endif|`else)\b[\w\s:]*$"
)


def significant_lines(text: str) -> list[str]:
    """Whitespace-normalised lines long and specific enough to identify copied source."""
    out: list[str] = []
    for line in text.split("\n"):
        norm = " ".join(line.split())
        if len(norm) < 12 or _TRIVIAL_WORDS.match(norm) or not re.search(r"[A-Za-z]", norm):
            continue
        out.append(norm)
    return out


def shingles(text: str, size: int = 3) -> set[str]:
    """Every run of ``size`` consecutive significant lines, joined by newlines."""
    lines = significant_lines(text)
    return {"\n".join(lines[i : i + size]) for i in range(len(lines) - size + 1)}
