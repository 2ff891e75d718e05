"""The reference edits of cleaning (what names a removed class, outside its body) and the hunks eval puts back.

``sv_reference_edits`` (SystemVerilog files) and ``text_reference_edits`` (filelists, Makefiles, scripts,
docs) find what names a removed class: an `include line, a filelist entry, a test-list word, a typedef,
a comment or string. ``diff_refs`` turns a cleaned file and a task's target text into the
``RemovedReference`` hunks ``restore_for_eval`` (gym/restore.py) applies. ``clean_repo`` (gym/clean.py)
drives them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Protocol

from dvsmith.gym.clean_models import RemovedReference
from dvsmith.gym.svtext import Tok, find_words, in_ranges, is_doc, is_filelist, line_bounds, split_lines


class SourceFiles(Protocol):
    """What the reference finders read of the repo being cleaned (``clean_repo``'s context)."""

    def read(self, rel: str) -> bytes: ...

    def toks(self, rel: str) -> list[Tok]: ...

    def resolve_include(self, spec: str, including: str) -> str | None: ...


@dataclass(frozen=True)
class Edit:
    """A byte range ``[start, end)`` of one file that cleaning deletes, owned by one task; ``kind`` says why."""

    start: int
    end: int
    owner: str
    kind: str


# ---------------------------------------------------------------------------------------- references


def _origin(offset: int, deleted: list[tuple[int, int]]) -> int:
    """Map a byte offset of "original minus ``deleted``" back to the original file."""
    for start, end in deleted:
        if start <= offset:
            offset += end - start
        else:
            break
    return offset


def diff_refs(
    rel: str, cleaned: bytes, target: bytes, kind: str, deleted: list[tuple[int, int]]
) -> list[RemovedReference]:
    """The line hunks turning ``cleaned`` (the gym file) into ``target``; ``deleted`` maps them to the original."""
    try:
        a_text, b_text, codec = cleaned.decode("utf-8"), target.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        a_text, b_text, codec = cleaned.decode("latin-1"), target.decode("latin-1"), "latin-1"
    a, b = split_lines(a_text), split_lines(b_text)
    b_offsets = [0]
    for line in b:
        b_offsets.append(b_offsets[-1] + len(line.encode(codec, "surrogateescape")))
    refs: list[RemovedReference] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # a pure insertion: one hunk per line, each with its own place in the original
            refs.extend(
                RemovedReference(
                    file=rel,
                    line_index=i1,
                    count=0,
                    text=b[j],
                    expect="",
                    kind=kind,
                    encoding=codec,
                    origin=_origin(b_offsets[j], deleted),
                )
                for j in range(j1, j2)
            )
            continue
        refs.append(
            RemovedReference(
                file=rel,
                line_index=i1,
                count=i2 - i1,
                text="".join(b[j1:j2]),
                expect="".join(a[i1:i2]),
                kind=kind,
                encoding=codec,
                origin=_origin(b_offsets[j1], deleted),
            )
        )
    return refs


# ----------------------------------------------------------------------------- reference finding


def _whole_line_if_alone(data: bytes, s: int, e: int, comment: bytes = b"//") -> tuple[int, int]:
    ls, le = line_bounds(data, s)
    if e > le:
        return s, e
    before = data[ls:s].strip()
    after = data[e:le].strip()
    if before == b"" and (after == b"" or after.startswith(comment)):
        return ls, le
    return s, e


def sv_reference_edits(
    ctx: SourceFiles,
    rel: str,
    protected: list[tuple[int, int]],
    whole: dict[str, str],
    names: frozenset[str],
    bases: frozenset[str],
    owner_of_hit: Any,
) -> list[Edit]:
    data = ctx.read(rel)
    toks = ctx.toks(rel)
    pstarts = [r[0] for r in protected]
    out: list[Edit] = []

    def hits(start: int, end: int) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        for hs, he, word in find_words(data[start:end], names, bases):
            owner = owner_of_hit(word, rel)
            if owner is not None:
                found.append((start + hs, start + he, owner))
        return found

    code_idx = [i for i, t in enumerate(toks) if not t.trivia]
    for pos, i in enumerate(code_idx):
        t = toks[i]
        if in_ranges(pstarts, protected, t.start):
            continue
        if t.kind == "Directive" and t.text == "`include" and pos + 1 < len(code_idx):
            lit = toks[code_idx[pos + 1]]
            if lit.kind == "StringLiteral":
                target = ctx.resolve_include(lit.text, rel)
                if target is not None and target in whole:
                    s, e = _whole_line_if_alone(data, t.start, lit.end)
                    out.append(Edit(s, e, whole[target], "include"))
            continue
        if t.kind == "StringLiteral":
            prev = toks[code_idx[pos - 1]] if pos > 0 else None
            if prev is not None and prev.kind == "Directive" and prev.text == "`include":
                continue
            for s, e, owner in hits(t.start + 1, t.end - 1):
                out.append(Edit(s, e, owner, "string"))
            continue
        if t.kind == "TypedefKeyword" and pos + 3 < len(code_idx):
            k1, k2, k3 = (toks[code_idx[pos + n]] for n in (1, 2, 3))
            if k1.kind == "ClassKeyword" and k2.kind == "Identifier" and k3.kind == "Semicolon":
                owner = owner_of_hit(k2.text, rel)
                if owner is not None:
                    s, e = _whole_line_if_alone(data, t.start, k3.end)
                    out.append(Edit(s, e, owner, "typedef"))
    for t in toks:
        if not t.trivia or t.kind not in ("LineComment", "BlockComment") or in_ranges(pstarts, protected, t.start):
            continue
        for hs, _he, owner in hits(t.start, t.end):
            out.append(_comment_edit(data, t, hs, owner))
    return out


def _comment_edit(data: bytes, t: Tok, hs: int, owner: str) -> Edit:
    ls, le = line_bounds(data, hs)
    if t.kind == "LineComment" or b"\n" not in data[t.start : t.end]:
        line_s, line_e = line_bounds(data, t.start)
        if data[line_s : t.start].strip() == b"" and data[t.end : line_e].strip() == b"":
            return Edit(line_s, line_e, owner, "comment")
        if t.kind == "LineComment":
            s = t.start
            while s > line_s and data[s - 1 : s] in (b" ", b"\t"):
                s -= 1
            return Edit(s, t.end, owner, "comment")
        return Edit(t.start + 2, t.end - 2, owner, "comment")
    if ls <= t.start:  # first line of a block comment: keep the opener
        end = le - 1 if data[le - 1 : le] == b"\n" else le
        return Edit(t.start + 2, max(t.start + 2, end), owner, "comment")
    if le >= t.end:  # last line: keep the closer
        return Edit(ls, t.end - 2, owner, "comment")
    return Edit(ls, le, owner, "comment")


_STOP = frozenset(b" \t\r\n;,\"'`()[]{}<>|&")


def _word_char(byte: int) -> bool:
    """Part of a list word (a test name, a path, a plusarg) rather than a separator."""
    return byte not in _STOP


_ASSIGN = re.compile(rb"^\s*[A-Za-z_][A-Za-z0-9_.]*\s*(?::=|::=|\+=|\?=|!=|=)")


def text_reference_edits(
    ctx: SourceFiles,
    rel: str,
    names: frozenset[str],
    bases: frozenset[str],
    owner_of_hit: Any,
) -> list[Edit]:
    """Filelists, Makefiles, scripts, regression lists, docs: drop the word, or the line."""
    data = ctx.read(rel)
    out: list[Edit] = []
    doc = is_doc(rel)
    found: list[tuple[int, int, str]] = []
    for hs, he, word in find_words(data, names, bases):
        owner = owner_of_hit(word, rel)
        if owner is not None:
            found.append((hs, he, owner))
    for hs, he, owner in sorted(found):
        ls, le = line_bounds(data, hs)
        content_end = le
        while content_end > ls and data[content_end - 1 : content_end] in (b"\n", b"\r"):
            content_end -= 1
        stripped = data[ls:content_end].strip()
        if doc or stripped.startswith((b"#", b"//", b"--", b";")):
            out.append(Edit(ls, le, owner, "text" if doc else "comment"))
            continue
        cs = hs
        while cs > ls and _word_char(data[cs - 1]):
            cs -= 1
        ce = he
        while ce < content_end and _word_char(data[ce]):
            ce += 1
        rest = data[ls:cs] + data[ce:content_end]
        if rest.strip() in (b"", b"\\"):
            kind = "filelist" if is_filelist(rel) else "test_list"
            if rest.strip() == b"\\":  # a continuation line holding only this word: keep the backslash
                out.append(Edit(cs, ce + (1 if data[ce : ce + 1] == b" " else 0), owner, kind))
            else:
                out.append(Edit(ls, le, owner, kind))
            continue
        s, e = cs, ce
        after = ce
        while after < content_end and data[after : after + 1] in (b" ", b"\t"):
            after += 1
        if after < content_end:
            e = after
        else:
            while s > ls and data[s - 1 : s] in (b" ", b"\t"):
                s -= 1
        kind = "test_list" if _ASSIGN.match(data[ls:content_end]) else "text"
        out.append(Edit(s, e, owner, kind))
    return out


__all__ = [
    "Edit",
    "SourceFiles",
    "diff_refs",
    "sv_reference_edits",
    "text_reference_edits",
]
