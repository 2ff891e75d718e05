"""What a metadata call knows about one task: its sources (read through profile spans) and features.

Source text is read from ``repo_root`` (a parameter: build may run on a copy) via the byte spans the
profile records; paths are confined to ``repo_root``. Measurable features (sequences started,
constraint / ``with`` blocks, lines) come from pyslang's lexer, so comments and strings do not count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field
from pyslang import BumpAllocator, Diagnostics, SourceManager
from pyslang.parsing import Lexer, TokenKind

from dvsmith.analysis.profile import ClassDecl, CovergroupInfo, Profile, SequenceInfo, Span, TestInfo
from dvsmith.paths import closeness, confine

_FALLBACK_LINES = 80  # lines read after a declaration that has no span recorded

Decl = TypeVar("Decl", TestInfo, SequenceInfo, ClassDecl)


class MetadataRequest(BaseModel):
    """One task to describe: the test, and the sequences the task removes (those the test starts alone)."""

    task_id: str
    test_name: str
    test_file: str
    sequences: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)  # read from the source by dvsmith.gym.spec_extract: authoritative


@dataclass(frozen=True)
class SourcePart:
    kind: str  # test | sequence | base
    name: str
    file: str
    text: str


@dataclass(frozen=True)
class Features:
    sequences_started: int
    constraint_blocks: int
    lines: int


@dataclass
class TaskContext:
    request: MetadataRequest
    test: TestInfo | None
    base_class: str | None
    started: list[str]  # sequences the test starts (directly, or via the request)
    removed_sequences: list[str]  # started by this test alone: removed with it, written again by the task
    test_part: SourcePart | None
    sequence_parts: list[SourcePart] = field(default_factory=list)
    base_parts: list[SourcePart] = field(default_factory=list)
    covergroups: list[CovergroupInfo] = field(default_factory=list)
    features: Features = field(default_factory=lambda: Features(0, 0, 0))


class SourceReader:
    """Reads declaration text from repo files (cached per file), confined to ``repo_root``."""

    def __init__(self, repo_root: Path) -> None:
        self.repo_root = repo_root
        self._files: dict[str, bytes | None] = {}

    def file_bytes(self, rel: str) -> bytes | None:
        if rel not in self._files:
            try:
                self._files[rel] = confine(self.repo_root, rel).read_bytes()
            except (OSError, ValueError):
                self._files[rel] = None
        return self._files[rel]

    def declaration(self, rel: str, line: int, span: Span | None, extern_spans: list[Span]) -> str:
        data = self.file_bytes(rel)
        if data is None:
            return ""
        if span is None or not (0 <= span.start < span.end <= len(data)):
            lines = data.decode("utf-8", errors="replace").splitlines()
            start = max(line - 1, 0)
            return "\n".join(lines[start : start + _FALLBACK_LINES])
        chunks = [data[span.start : span.end]]
        chunks += [data[s.start : s.end] for s in extern_spans if 0 <= s.start < s.end <= len(data)]
        return "\n\n".join(c.decode("utf-8", errors="replace") for c in chunks)


def _nearest(candidates: list[Decl], near: str) -> Decl | None:
    if not candidates:
        return None
    return max(candidates, key=lambda c: (closeness(c.file, near), -len(c.file), c.file))


def lex_features(text: str) -> tuple[int, int]:
    """(constraint / ``with`` blocks, non-blank lines) of SystemVerilog ``text``."""
    if not text.strip():
        return 0, 0
    sm = SourceManager()
    buf = sm.assignText("snippet.sv", text)
    lexer = Lexer(buf, BumpAllocator(), Diagnostics(), sm)
    blocks = 0
    prev = None
    while True:
        tok = lexer.lex()
        kind = tok.kind
        if kind == TokenKind.EndOfFile:
            break
        is_block = (
            kind == TokenKind.ConstraintKeyword
            or (kind == TokenKind.OpenBrace and prev == TokenKind.WithKeyword)
            or (kind == TokenKind.Directive and tok.rawText.endswith("_with"))  # `uvm_do_with, ...
        )
        if is_block:
            blocks += 1
        prev = kind
    lines = sum(1 for ln in text.splitlines() if ln.strip())
    return blocks, lines


def _covergroups_for(profile: Profile, test: TestInfo | None, test_file: str) -> list[CovergroupInfo]:
    """Covergroups of the test's compile unit (or, without units, those nearest the test)."""
    if not profile.covergroups:
        return []
    unit_files: set[str] = set()
    if test is not None and test.compile_unit:
        for unit in profile.compile_units:
            if unit.name == test.compile_unit:
                unit_files = set(unit.files) | set(unit.sources)
    if unit_files:
        chosen = [cg for cg in profile.covergroups if cg.file in unit_files]
        if chosen:
            return chosen
    best = max(closeness(cg.file, test_file) for cg in profile.covergroups)
    return [cg for cg in profile.covergroups if closeness(cg.file, test_file) == best]


def build_context(profile: Profile, reader: SourceReader, request: MetadataRequest) -> TaskContext:
    tests = [t for t in profile.tests if t.name == request.test_name]
    exact = [t for t in tests if t.file == request.test_file]
    test = exact[0] if exact else _nearest(tests, request.test_file)
    test_file = test.file if test else request.test_file

    test_part = None
    if test is not None:
        text = reader.declaration(test.file, test.line, test.span, test.extern_spans)
        test_part = SourcePart("test", test.name, test.file, text)

    known = {s.name for s in profile.sequences}
    own = test.sequences if test else []
    started = list(dict.fromkeys([*own, *(n for n in request.sequences if n in known)]))
    # The cleaning rule: a sequence only this test starts is removed with it.
    elsewhere = {
        n for t in profile.tests if test is None or (t.name, t.file) != (test.name, test.file) for n in t.sequences
    }
    removed = [n for n in started if n not in elsewhere]
    seq_parts: list[SourcePart] = []
    for name in started:
        seq = _nearest([s for s in profile.sequences if s.name == name], test_file)
        if seq is not None:
            text = reader.declaration(seq.file, seq.line, seq.span, seq.extern_spans)
            seq_parts.append(SourcePart("sequence", name, seq.file, text))

    base_parts: list[SourcePart] = []
    chain: list[str] = []
    if test is not None:
        chain = test.base_chain or ([test.base_class] if test.base_class else [])
    for name in chain:
        if not name or name.startswith("uvm_"):
            continue
        decl = _nearest([c for c in profile.classes if c.name == name], test_file)
        if decl is not None:
            text = reader.declaration(decl.file, decl.line, decl.span, decl.extern_spans)
            base_parts.append(SourcePart("base", name, decl.file, text))
            continue
        base_test = _nearest([t for t in profile.tests if t.name == name], test_file)
        if base_test is not None:
            text = reader.declaration(base_test.file, base_test.line, base_test.span, base_test.extern_spans)
            base_parts.append(SourcePart("base", name, base_test.file, text))

    blocks, lines = 0, 0
    written = [test_part] if test_part else []
    written += [p for p in seq_parts if p.name in removed]
    for part in written:
        b, n = lex_features(part.text)
        blocks += b
        lines += n
    return TaskContext(
        request=request,
        test=test,
        base_class=test.base_class if test else None,
        started=started,
        removed_sequences=removed,
        test_part=test_part,
        sequence_parts=seq_parts,
        base_parts=base_parts,
        covergroups=_covergroups_for(profile, test, test_file),
        features=Features(len(started), blocks, lines),
    )
