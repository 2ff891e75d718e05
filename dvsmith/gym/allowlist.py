"""What a solution file may contain: a language allowlist checked with pyslang before anything compiles.

A solution is hostile code: it runs inside the simulator with the simulator's powers, so constructs that
reach outside the test (the shell, files, the simulator's C++, the report server, the end of the
simulation) or that hide code from the grader (`` `line ``, ``bind``, new modules) are refused before
compiling, each with one reason naming the construct and ``file:line``.

How the check sees the code:

* The compile unit is parsed the way the compiler reads it: the UVM macros first (as ``uvm_pkg.sv``
  defines them for every later file), then the unit's sources in order with its include folders and
  defines (and Verilator's own predefines), the solution files and the task's restored references laid
  over the gym in memory. Macros are therefore really expanded: a name built by token pasting
  (`` `define CAT(a,b) a``b ``) is checked as the name it becomes.
* A token is the solution's when its *spelling* comes from a solution file (or from a file outside the
  gym and the UVM library): tokens of a UVM or gym macro body expanded in the solution are trusted;
  arguments the solution passes to such a macro, and everything its own macros produce, are not.
* The solution files are also read token by token without preprocessing (``svtext.lex``): directives,
  comments (Verilator metacomments) and names inside macro bodies or disabled ``ifdef`` branches count.
* Everything refused is allowed when the task's reference (``oracle/ID/``, checked the same way) uses
  the exact same construct, as the reference may legitimately do it.

Declarations: in every scope outside a class (the compilation unit, a package, a module), a solution may
declare only what the reference declares there (same kind, same name: classes, typedefs, functions,
tasks, variables, modules...). Inside a class the members are free (methods, properties, constraints),
except nested classes (same rule) and overrides of UVM's reporting methods. Every class the task removed
must be declared and registered with the factory (``uvm_*_utils`` gives ``typedef uvm_*_registry
#(T, ...) type_id``, found in the expanded tree).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyslang
from pydantic import BaseModel, ConfigDict, Field
from pyslang import parsing, syntax

from dvsmith.analysis.profile import CompileUnit
from dvsmith.gym.svtext import decode, lex, line_starts
from dvsmith.sim.verilator import compat_sources, compile_defines, include_dir_rels

SK = syntax.SyntaxKind

# ------------------------------------------------------------------------------------------ the lists

_SHELL = {"$system": "runs a shell command"}
_ENDING = {n: "ends the simulation outside UVM" for n in ("$finish", "$stop", "$exit")}
_DUMP = {
    n: "writes a waveform file"
    for n in ("$dumpfile", "$dumpvars", "$dumpon", "$dumpoff", "$dumpall", "$dumplimit", "$dumpflush",
              "$dumpports", "$dumpportson", "$dumpportsoff", "$dumpportsall", "$dumpportslimit",
              "$dumpportsflush")
}  # fmt: skip
_FILE_IO = {
    n: "does file I/O"
    for base in ("$fdisplay", "$fwrite", "$fstrobe", "$fmonitor", "$readmem", "$writemem", "$sreadmem")
    for n in (base, base + "b", base + "h", base + "o")
} | {
    n: "does file I/O"
    for n in ("$fopen", "$fclose", "$fscanf", "$fgets", "$fgetc", "$ungetc", "$fread", "$fseek", "$ftell",
              "$rewind", "$fflush", "$feof", "$ferror")
}  # fmt: skip
FORBIDDEN_SYSTEM: dict[str, str] = {**_SHELL, **_ENDING, **_DUMP, **_FILE_IO}
_VERILATOR_ESCAPE = re.compile(r"^\$(c\d*|cpp)$")

# UVM names that change how errors are reported, counted or shown, replace the factory's classes, or end
# the run: a test could hide the scoreboard's errors or fake a clean end with them.
FORBIDDEN_NAMES: dict[str, str] = {
    **{n: "changes UVM report handling" for n in (
        "get_report_handler", "set_report_handler", "uvm_report_handler", "uvm_report_catcher", "uvm_report_cb",
        "uvm_report_server", "uvm_default_report_server", "get_report_server", "set_report_server", "set_server",
        "set_default_file", "set_verbosity_level", "report_summarize", "uvm_report_message_element_container",
    )},
    **{n: "changes UVM error counts" for n in (
        "set_max_quit_count", "set_quit_count", "incr_quit_count", "reset_quit_count", "set_severity_count",
        "incr_severity_count", "reset_severity_counts", "set_id_count", "incr_id_count",
    )},
    **{n: "replaces classes in the UVM factory" for n in (
        "set_type_override", "set_inst_override", "set_type_override_by_type", "set_inst_override_by_type",
        "set_type_override_by_name", "set_inst_override_by_name", "set_type_alias", "set_factory",
    )},
    **{n: "ends the run outside UVM's phases" for n in (
        "die", "set_finish_on_completion", "finish_on_completion",
    )},
}  # fmt: skip
_FORBIDDEN_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^set_report_\w+$"), "changes UVM report handling"),  # actions, overrides, files, verbosity
    (re.compile(r"^set_(severity|id|severity_id)_(action|override|file|verbosity|count)s?$"),
     "changes UVM report handling"),
    (re.compile(r"^uvm_hdl_\w+$"), "writes the design through a backdoor"),
)  # fmt: skip
_MEMBER_ONLY = {"jump": "jumps over UVM phases", "jump_all": "jumps over UVM phases"}  # after a '.'
# Methods of uvm_report_object/uvm_component a solution class may not override.
_REPORT_OVERRIDE = re.compile(r"^(uvm_report\w*|uvm_process_report_message|report_summarize|die|report_header)$")

_FORBIDDEN_DIRECTIVES: dict[str, str] = {
    "`line": "changes the file and line the simulator records",
    "`pragma": "passes a pragma (e.g. protect) to the tool",
    "`verilator_config": "changes Verilator's configuration",
    "`undefineall": "removes every macro",
}
_SYSTEMC_DIRECTIVE = re.compile(r"^`systemc_\w+$")
_LINT_METACOMMENT = re.compile(r"^verilator\s+(lint_off|lint_on|lint_save|lint_restore)\b")
_UVM_MACRO = re.compile(r"^(uvm_|UVM_)")

_REGISTRIES = frozenset({"uvm_component_registry", "uvm_object_registry", "uvm_abstract_component_registry",
                         "uvm_abstract_object_registry"})  # fmt: skip

# Verilator's predefined macros (the compile adds UVM_NO_DPI and --coverage): `ifdef VERILATOR is seen
# the way the compiler sees it.
_PREDEFINES = ("VERILATOR", "verilator", "verilator3", "SYSTEMVERILOG", "coverage", "COVERAGE", "UVM_NO_DPI")

_CONTAINERS = {
    SK.PackageDeclaration: "package",
    SK.ModuleDeclaration: "module",
    SK.InterfaceDeclaration: "interface",
    SK.ProgramDeclaration: "program",
}
_LEAF_DECLS = {
    SK.TypedefDeclaration: "typedef",
    SK.ForwardTypedefDeclaration: "typedef",
    SK.FunctionDeclaration: "function",
    SK.TaskDeclaration: "task",
    SK.DataDeclaration: "variable",
    SK.NetDeclaration: "net",
    SK.ParameterDeclarationStatement: "parameter",
    SK.CovergroupDeclaration: "covergroup",
    SK.ConstraintDeclaration: "constraint",
    SK.LetDeclaration: "let",
    SK.CheckerDeclaration: "checker",
    SK.UdpDeclaration: "primitive",
    SK.ConfigDeclaration: "config",
    SK.PropertyDeclaration: "property",
    SK.SequenceDeclaration: "sequence",
    SK.ClockingDeclaration: "clocking",
    SK.ModportDeclaration: "modport",
    SK.GenvarDeclaration: "genvar",
    SK.HierarchyInstantiation: "instance",
    SK.ContinuousAssign: "assign",
    SK.AlwaysBlock: "always",
    SK.AlwaysCombBlock: "always",
    SK.AlwaysFFBlock: "always",
    SK.AlwaysLatchBlock: "always",
    SK.InitialBlock: "initial",
    SK.FinalBlock: "final",
    SK.ConcurrentAssertionMember: "assertion",
    SK.ImmediateAssertionMember: "assertion",
}


# ------------------------------------------------------------------------------------------- results


class Violation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    what: str  # the exact construct, also the key the reference exemption compares
    file: str  # gym-relative (or the path as included, for files outside the gym)
    line: int
    why: str

    @property
    def reason(self) -> str:
        return f"{self.file}:{self.line}: {self.what} {self.why}"


class AllowlistReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    violations: list[Violation] = Field(default_factory=list)
    structure: list[str] = Field(default_factory=list)  # removed classes missing or not registered

    @property
    def ok(self) -> bool:
        return not self.violations and not self.structure

    @property
    def reasons(self) -> list[str]:
        return [v.reason for v in self.violations] + self.structure


@dataclass
class _Scan:
    constructs: dict[str, list[Violation]] = field(default_factory=dict)
    decls: dict[tuple[str, ...], Violation] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)  # authored class -> its registries (if any)

    def add(self, v: Violation) -> None:
        hits = self.constructs.setdefault(v.what, [])
        if all((h.file, h.line) != (v.file, v.line) for h in hits):
            hits.append(v)


# ------------------------------------------------------------------------------------------ the scan


class _Context:
    """One parse of the unit: buffers, which of them are the solution's, offset -> line per buffer."""

    def __init__(self, sm: pyslang.SourceManager, gym_dir: Path, trusted: list[Path], authored: set[Path]):
        self.sm = sm
        self.gym_dir = gym_dir
        self.trusted = trusted  # folders besides the gym whose files are not the solution's (UVM, dvsmith's)
        self.authored = authored
        self._by_buffer: dict[int, tuple[bool, str, list[int]]] = {}
        self.foreign: set[str] = set()  # files outside the gym and the UVM library that were read

    def info(self, loc: Any) -> tuple[bool, str, list[int]]:
        """(the solution's?, display name, line starts) of the buffer holding ``loc``."""
        buf = loc.buffer
        key = buf.id
        got = self._by_buffer.get(key)
        if got is None:
            full = Path(self.sm.getFullPath(buf) or self.sm.getRawFileName(buf) or "")
            text = self.sm.getSourceText(buf) or ""
            starts = line_starts(text.encode("utf-8", "surrogatepass"))
            mine, name = self._classify(full)
            got = (mine, name, starts)
            self._by_buffer[key] = got
        return got

    def _classify(self, full: Path) -> tuple[bool, str]:
        if full in self.authored:
            return True, full.relative_to(self.gym_dir).as_posix()
        if full.is_relative_to(self.gym_dir):
            return False, full.relative_to(self.gym_dir).as_posix()
        if any(full.is_relative_to(t) for t in self.trusted):
            return False, full.as_posix()
        name = full.as_posix() or "<unknown>"
        self.foreign.add(name)
        return True, name

    def origin(self, tok: Any) -> tuple[bool, str, int]:
        """Is ``tok`` spelled by the solution, in which file, at which (physical) line."""
        return self.origin_of(tok.location)

    def origin_of(self, location: Any) -> tuple[bool, str, int]:
        loc = self.sm.getFullyOriginalLoc(location)
        mine, name, starts = self.info(loc)
        return mine, name, _line_of(starts, loc.offset)


def _line_of(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return max(1, lo)


def _tokens(node: Any) -> Iterator[Any]:
    for ch in node:
        if ch is None:
            continue
        if isinstance(ch, parsing.Token):
            yield ch
        else:
            yield from _tokens(ch)


def _name_tok(node: Any) -> Any:
    """The name token of a declaration node, or None."""
    k = node.kind
    if k in _CONTAINERS:
        return node.header.name
    if k in (SK.ClassDeclaration, SK.TypedefDeclaration, SK.ForwardTypedefDeclaration, SK.ConstraintDeclaration,
             SK.CovergroupDeclaration, SK.CheckerDeclaration, SK.PropertyDeclaration, SK.SequenceDeclaration,
             SK.LetDeclaration, SK.ConfigDeclaration):  # fmt: skip
        name = getattr(node, "name", None)
        if isinstance(name, parsing.Token):
            return name
        return next(_tokens(name), None) if name is not None else None
    return None


def _decl_names(node: Any) -> list[tuple[str, Any]]:
    """(name, token) pairs a leaf declaration introduces; ``cls::m`` names stand for class ``cls``."""
    k = node.kind
    if k in (SK.FunctionDeclaration, SK.TaskDeclaration):
        toks = [t for t in _tokens(node.prototype.name) if t.kind == parsing.TokenKind.Identifier]
        if not toks:
            return []
        if node.prototype.name.kind == SK.ScopedName:  # out-of-block method: its class must be the reference's
            return [(f"class {toks[0].valueText}", toks[0])]
        return [(toks[-1].valueText, toks[-1])]
    if k in (SK.DataDeclaration, SK.NetDeclaration):
        return [(d.name.valueText, d.name) for d in node.declarators if not isinstance(d, parsing.Token)]
    if k == SK.ParameterDeclarationStatement:
        decl = node.parameter
        return [
            (d.name.valueText, d.name) for d in getattr(decl, "declarators", []) if not isinstance(d, parsing.Token)
        ]
    if k == SK.HierarchyInstantiation:
        return [
            (i.decl.name.valueText, i.decl.name)
            for i in node.instances
            if not isinstance(i, parsing.Token) and getattr(i, "decl", None)
        ]
    tok = _name_tok(node)
    if tok is not None:
        return [(tok.valueText, tok)]
    first = next(_tokens(node), None)
    return [("", first)] if first is not None else []


def _registries(cls: Any) -> list[str]:
    """Factory registrations of a class: ``typedef uvm_*_registry #(<this class>...) type_id``."""
    out: list[str] = []
    me = cls.name.valueText
    for item in cls.items:
        node = item.declaration if item.kind == SK.ClassPropertyDeclaration else None
        if node is None or node.kind != SK.TypedefDeclaration or node.name.valueText != "type_id":
            continue
        ids = [t.valueText for t in _tokens(node.type) if t.kind == parsing.TokenKind.Identifier]
        if len(ids) >= 2 and ids[0] in _REGISTRIES and ids[1] == me:
            out.append(ids[0])
    return out


def _declare(scan: _Scan, scope: tuple[str, ...], label: str, file: str, line: int) -> None:
    where = "/".join(scope) or "the compilation unit"
    scan.decls.setdefault(
        (*scope, label),
        Violation(
            what=f"declaration of {label}", file=file, line=line, why=f"is not declared by the reference in {where}"
        ),
    )


def _walk(node: Any, scope: tuple[str, ...], in_class: bool, ctx: _Context, scan: _Scan) -> None:
    for ch in node:
        if ch is None or isinstance(ch, parsing.Token):
            continue
        k = ch.kind
        if k == SK.ClassDeclaration:
            tok = ch.name
            mine, file, line = ctx.origin(tok)
            label = f"class {tok.valueText}"
            if mine:
                _declare(scan, scope, label, file, line)
                scan.classes.setdefault(tok.valueText, []).extend(_registries(ch))
            _walk(ch, (*scope, label), True, ctx, scan)
            continue
        if k in (SK.BindDirective, SK.DPIImport, SK.DPIExport):
            first = next(_tokens(ch))
            mine, file, line = ctx.origin(first)
            if mine:
                what = "bind" if k == SK.BindDirective else ("DPI import" if k == SK.DPIImport else "DPI export")
                why = "attaches code to the design" if k == SK.BindDirective else "calls C code outside the simulator"
                scan.add(Violation(what=what, file=file, line=line, why=why))
            continue
        if in_class:
            if k in (SK.FunctionDeclaration, SK.TaskDeclaration, SK.ClassMethodPrototype):
                proto = ch.prototype
                ids = [t for t in _tokens(proto.name) if t.kind == parsing.TokenKind.Identifier]
                if ids and _REPORT_OVERRIDE.match(ids[-1].valueText):
                    mine, file, line = ctx.origin(ids[-1])
                    if mine:
                        scan.add(Violation(what=f"override of {ids[-1].valueText}", file=file, line=line,
                                           why="replaces a UVM reporting method"))  # fmt: skip
            _walk(ch, scope, True, ctx, scan)
            continue
        if k in _CONTAINERS:
            tok = ch.header.name
            mine, file, line = ctx.origin(tok)
            label = f"{_CONTAINERS[k]} {tok.valueText}"
            if mine:
                _declare(scan, scope, label, file, line)
            _walk(ch, (*scope, label), False, ctx, scan)
            continue
        if k in _LEAF_DECLS:
            kind = _LEAF_DECLS[k]
            for name, tok in _decl_names(ch):
                if tok is None:
                    continue
                mine, file, line = ctx.origin(tok)
                if not mine:
                    continue
                _declare(scan, scope, name if name.startswith("class ") else f"{kind} {name}".rstrip(), file, line)
            _walk(ch, scope, True, ctx, scan)  # what a body declares is local to it; binds/DPI still count
            continue
        _walk(ch, scope, in_class, ctx, scan)


# Keywords that start a design-unit declaration or a bind, looked for in the unexpanded text too (so an
# `ifdef branch the check's preprocessor skips cannot hide one): (construct, why).
_RAW_KEYWORDS = {
    "BindKeyword": ("bind", "attaches code to the design"),
    "ModuleKeyword": ("module", "declares a design module"),
    "MacromoduleKeyword": ("module", "declares a design module"),
    "ProgramKeyword": ("program", "declares a program"),
    "PrimitiveKeyword": ("primitive", "declares a primitive"),
    "CheckerKeyword": ("checker", "declares a checker"),
    "ConfigKeyword": ("config", "declares a configuration"),
}


_KEYWORD_CONSTRUCTS = frozenset(w for w, _ in _RAW_KEYWORDS.values()) - {"bind"}


def _check_token(name: str, kind: str, prev: str, file: str, line: int, scan: _Scan) -> None:
    if kind == "RootSystemName":
        scan.add(Violation(what="$root", file=file, line=line, why="reaches into the design hierarchy"))
        return
    if kind == "SystemIdentifier":
        why = FORBIDDEN_SYSTEM.get(name)
        if why is None and _VERILATOR_ESCAPE.match(name):
            why = "runs C++ inside the simulator (Verilator escape)"
        if why is not None:
            scan.add(Violation(what=name, file=file, line=line, why=why))
        return
    if kind != "Identifier":
        return
    name = name.lstrip("\\").strip()
    why = FORBIDDEN_NAMES.get(name)
    if why is None:
        why = next((w for p, w in _FORBIDDEN_NAME_PATTERNS if p.match(name)), None)
    if why is None and prev == ".":
        why = _MEMBER_ONLY.get(name)
    if why is not None:
        scan.add(Violation(what=name, file=file, line=line, why=why))


def _scan_raw(data: bytes, file: str, scan: _Scan) -> None:
    """Directives, metacomments and names of one solution file as written (no preprocessing)."""
    starts = line_starts(data)
    toks = lex(data)
    prev = ""
    for i, t in enumerate(toks):
        line = _line_of(starts, t.start)
        if t.trivia:
            body = _comment_body(t)
            if body is not None and body.startswith("verilator") and not _LINT_METACOMMENT.match(body):
                scan.add(Violation(what=" ".join(t.text.split()), file=file, line=line,
                                   why="is a Verilator metacomment (exposes or changes the model)"))  # fmt: skip
            continue
        if t.kind in _RAW_KEYWORDS:
            what, why = _RAW_KEYWORDS[t.kind]
            scan.add(Violation(what=what, file=file, line=line, why=why))
        elif t.kind == "Directive":
            if t.text in _FORBIDDEN_DIRECTIVES:
                scan.add(Violation(what=t.text, file=file, line=line, why=_FORBIDDEN_DIRECTIVES[t.text]))
            elif _SYSTEMC_DIRECTIVE.match(t.text):
                scan.add(Violation(what=t.text, file=file, line=line, why="inserts C++ into the model"))
            elif t.text in ("`define", "`undef"):
                nxt = next((u for u in toks[i + 1 :] if not u.trivia), None)
                if nxt is not None and _UVM_MACRO.match(nxt.text.lstrip("`")):
                    scan.add(Violation(what=f"{t.text} {nxt.text}", file=file, line=line,
                                       why="redefines a UVM macro"))  # fmt: skip
        else:
            _check_token(t.text, t.kind, prev, file, line, scan)
        prev = t.text


def _comment_body(t: Any) -> str | None:
    if t.kind == "LineComment":
        return t.text[2:].strip()
    if t.kind == "BlockComment":
        return t.text[2:-2].strip()
    return None


def _parse_unit(
    gym_dir: Path,
    unit: CompileUnit,
    overlay: dict[str, bytes],
    authored: set[str],
    uvm_src: Path | None,
) -> _Scan:
    """Scan the unit with ``overlay`` (gym-relative path -> content) laid over ``gym_dir``; the files in
    ``authored`` are the solution's (or the reference's, for the reference scan)."""
    scan = _Scan()
    sm = pyslang.SourceManager()
    po = parsing.PreprocessorOptions()
    incdirs = [gym_dir if d in (".", "") else gym_dir / d for d in include_dir_rels(unit)]
    po.additionalIncludePaths = ([str(uvm_src)] if uvm_src else []) + [str(d) for d in incdirs]
    defines = compile_defines(unit)
    po.predefines = [*_PREDEFINES] + [n if v is None else f"{n}={v}" for n, v in sorted(defines.items())]
    buffers: dict[str, Any] = {}
    for rel, data in sorted(overlay.items()):
        buffers[rel] = sm.assignText(str(gym_dir / rel), decode(data)[0])
    srcs: list[Any] = []
    if uvm_src is not None:
        srcs.append(sm.assignText(str(uvm_src / "dvsmith_uvm_macros.sv"), '`include "uvm_macros.svh"\n'))
    trusted = [uvm_src] if uvm_src is not None else []
    for compat in compat_sources(unit):  # dvsmith's UVM 1.x compatibility package, as the compile has it
        srcs.append(sm.readSource(str(compat), None))
        trusted.append(compat.resolve().parent)
    for rel in unit.sources:
        if rel in buffers:
            srcs.append(buffers[rel])
        elif (gym_dir / rel).is_file():
            srcs.append(sm.readSource(str(gym_dir / rel), None))
    ctx = _Context(sm, gym_dir, trusted, {gym_dir / r for r in authored})
    tree = syntax.SyntaxTree.fromBuffers(srcs, sm, pyslang.Bag([po]), [])
    prev = ""
    for tok in _tokens(tree.root):
        if tok.kind in (parsing.TokenKind.Identifier, parsing.TokenKind.SystemIdentifier,
                        parsing.TokenKind.RootSystemName):  # fmt: skip
            mine, file, line = ctx.origin(tok)
            if mine:
                _check_token(tok.valueText if tok.kind == parsing.TokenKind.SystemIdentifier else tok.rawText,
                             tok.kind.name, prev, file, line, scan)  # fmt: skip
        prev = tok.rawText
    _walk(tree.root, (), False, ctx, scan)
    for diag in tree.diagnostics:  # what pyslang could not read may hide a construct from this check
        if not diag.isError() or not diag.location.buffer:
            continue
        mine, file, line = ctx.origin_of(diag.location)
        if mine:
            code = str(diag.code).rsplit("(", 1)[-1].rstrip(")")
            scan.add(Violation(what=f"syntax error ({code})", file=file, line=line,
                               why="cannot be read by the checker, so it is not compiled"))  # fmt: skip
    for rel in sorted(authored):
        if rel in overlay:
            _scan_raw(overlay[rel], rel, scan)
    for name in sorted(ctx.foreign):
        scan.add(Violation(what=f"`include of {name}", file=name, line=1,
                           why="reads a file outside the gym and the UVM library"))  # fmt: skip
        path = Path(name)
        if path.is_file():
            _scan_raw(path.read_bytes(), name, scan)
    return scan


def _overlay(gym_dir: Path, task: Any, files: dict[str, Path]) -> dict[str, bytes]:
    """The files the eval would change in its scratch copy of the gym: the solution's (a file to write it
    leaves out counts as empty) and the gym files that get the task's removed references back."""
    from dvsmith.gym.restore import restore_for_eval

    work = Path(tempfile.mkdtemp(prefix="dvsmith-allow-"))
    try:
        for ref in task.removed_references:
            rel = ref["file"] if isinstance(ref, dict) else ref.file
            src = gym_dir / rel
            if rel not in files and src.is_file() and not (work / rel).exists():
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, work / rel)
        restore_for_eval(work, task, files)
        out: dict[str, bytes] = {}
        for p in work.rglob("*"):
            if p.is_file():
                out[p.relative_to(work).as_posix()] = p.read_bytes()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for rel in task.files_to_write:
        if rel not in out and not (gym_dir / rel).exists():
            out[rel] = b""
    return out


def check_solution(
    gym_dir: Path,
    unit: CompileUnit,
    task: Any,
    solution: dict[str, Path],
    reference: dict[str, Path],
    uvm_src: Path | None,
) -> AllowlistReport:
    """Check ``solution`` (gym-relative path -> candidate file) against the allowlist, exempting what the
    ``reference`` (the same paths -> the oracle's files) does itself. ``task`` has ``files_to_write``,
    ``removed_references`` and ``removed_classes``; ``unit`` is the task's compile unit (gym paths)."""
    gym_dir = gym_dir.resolve()
    sol_overlay = _overlay(gym_dir, task, solution)
    ref_overlay = _overlay(gym_dir, task, reference)
    sol = _parse_unit(gym_dir, unit, sol_overlay, set(task.files_to_write), uvm_src)
    ref = _parse_unit(gym_dir, unit, ref_overlay, set(task.files_to_write), uvm_src)
    report = AllowlistReport()
    for key, hits in sol.constructs.items():
        if key not in ref.constructs:
            report.violations.extend(hits)
    missing = {path for path in sol.decls if path not in ref.decls}
    for path in sorted(missing):
        if not any(path[:i] in missing for i in range(1, len(path))):  # inside a refused scope: said once
            report.violations.append(sol.decls[path])
    declared_at = {(v.file, v.line) for v in report.violations if v.what.startswith("declaration of ")}
    report.violations = [
        v for v in report.violations
        if not (v.what in _KEYWORD_CONSTRUCTS and (v.file, v.line) in declared_at)
    ]  # fmt: skip
    report.violations.sort(key=lambda v: (v.file, v.line, v.what))
    for name in task.removed_classes:
        if name not in sol.classes:
            report.structure.append(f"class {name} (removed from the gym) is not declared by the solution")
        elif not sol.classes[name]:
            report.structure.append(
                f"class {name} is not registered with the UVM factory (`uvm_object_utils/`uvm_component_utils)"
            )
    return report


def uvm_sources(uvm_home: Path | str | None = None) -> Path:
    """The UVM library's ``src`` folder the check reads the UVM macros from: the one the compile uses
    (``--uvm-home``, ``$UVM_HOME``, or the provisioned copy). Raises ``ToolchainError`` without one."""
    from dvsmith.sim.toolchain import ensure_uvm

    return (ensure_uvm(uvm_home) / "src").resolve()
