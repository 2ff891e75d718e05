"""Verilator compatibility rewrites: small, named transforms on the pyslang syntax tree.

Each rewrite is a class that registers itself (``REGISTRY``) by subclassing ``Rewrite``; it looks at one
file's syntax tree and returns byte-range edits, each with the line and a one-line account of what it
changes. ``rewrite_text`` applies every enabled rewrite to one file; ``rewrite_tree`` applies them to the
files of a tree, writing the results (the same transforms run on the original's copy and on the gym, so
both compile the same way). Only bytes of the file itself are edited (never text a macro produced);
edits that overlap an earlier one are dropped. A lowering pass (e.g. covergroups) can register here too.

Rewrites shipped (the first seven in ``dvsmith.sim.module_rewrites``):

- ``defparam_array``: ``defparam u[0].P = v;`` on an instance array → ``#(.P(v))`` on the instantiation
  (only when every defparam on that array sets P to the same value); ``defparam g[k].u.P = v;`` on an
  instance in a ``for`` generate block → ``#(.P((i == k) ? (v) : (<default>)))``. Verilator rejects both
  (``Unsupported: defparam with arrayed instance``).
- ``interface_task_automatic``: a static task of an interface with an unpacked-struct argument and timing
  control → ``task automatic`` (Verilator generates invalid C++ for the static task: seen with non-blocking
  assignments in drivers and with blocking ones in monitors). Only that task: making the whole interface
  automatic would make its other tasks' locals automatic, and a non-blocking assignment to an automatic
  variable is illegal (i2s_avip's BFMs have such tasks).
- ``empty_trailing_item``: ``modport mp (input a, output b, );`` (an item commented out after the last
  comma) → the comma removed; same for port lists.
- ``remove_sim_system_tasks``: ``$shm_open``, ``$shm_probe``, ``$fsdbDumpvars``, ``$vcdpluson``,
  ``$recordvars``, ... (waveform calls of other simulators) → a comment.
- ``bind_upward_ports``: ``bind T A a (.clk(itf.clk))`` inside module M, where ``itf`` is M's and not T's
  (an upward name, legal in IEEE 1800 and accepted by Questa, that Verilator cannot resolve) →
  ``.clk(clk)`` when M's instance of T connects its port ``clk`` to that same ``itf.clk``.
- ``mismatched_include_guard``: a file opening with `` `ifndef X`` `` `define Y`` where Y is another file's
  include guard (a copy-paste slip): Questa/Xcelium compile each file as its own unit and never notice;
  Verilator, one unit, then skips that other file → `` `define X``.
- ``vif_method_write_triggers`` (``dvsmith.sim.vif_triggers``): the members an interface's tasks write,
  when the tasks are called through a virtual interface, get Verilator scheduling triggers (an unused
  class writing them through a handle, on the ``endinterface`` line).
- ``inherited_type_params`` (``dvsmith.sim.inherited_params``): ``REQ``/``RSP`` inherited from
  ``uvm_driver #(T)`` (and the sequencer/sequence classes) used as another class's parameter value → ``T``.
- ``class_member_name_clash``, ``solve_before_size``, ``queue_part_select``, ``empty_queue_in_pattern``
  (``dvsmith.sim.class_rewrites``): a ``local`` property named like its class → ``m_<name>``;
  ``solve a.size before b`` → ``solve a before b``; ``q[i +: W]`` on a queue → ``q[i : (i)+(W)-1]``; an empty
  queue ``{}`` in an assignment pattern → ``'{}``.
- ``constraint_handle_copy`` (``dvsmith.sim.random_rewrites``): ``cfg.x`` in a constraint, ``cfg`` a non-rand
  handle and ``x`` rand in its class → a copy of ``cfg.x`` taken in ``pre_randomize`` (Verilator drops ``x``
  from the other class's own solver query).
- ``vif_typedef_property`` (``dvsmith.sim.class_rewrites``): a class property typed by a typedef of a virtual
  interface (``typedef virtual I v_if; v_if vif;``) → ``virtual I vif;`` (Verilator then never samples the
  interface's clocking-block inputs).
- ``starting_phase_accessors`` (``dvsmith.sim.uvm_rewrites``): UVM 1.1/1.2's ``starting_phase`` variable,
  gone from 2017 → ``get_starting_phase()``, and ``x.starting_phase = p;`` → ``x.set_starting_phase(p);``.
- ``uvm_compat_import``: with a UVM 1.x unit that needs dvsmith's compatibility package,
  ``import uvm_pkg::*;`` → ``import uvm_pkg::*; import dvsmith_uvm_compat_pkg::*;``.
"""

from __future__ import annotations

import bisect
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel
from pyslang import syntax
from pyslang.parsing import Token, TokenKind

from dvsmith.analysis import limits

SK = syntax.SyntaxKind
#: the qualifiers that make a class property random
RAND_QUALIFIERS = (TokenKind.RandKeyword, TokenKind.RandCKeyword)


class RewriteRecord(BaseModel):
    """One change a rewrite made: ``{name, file, line, what}`` (line of the original text, 1-based)."""

    name: str
    file: str
    line: int
    what: str


@dataclass
class Edit:
    start: int  # byte offsets in the file's UTF-8 text
    end: int
    text: str
    line: int
    what: str


@dataclass
class RewriteContext:
    """What a rewrite may need to know beyond one file (gathered from every file of the unit)."""

    unpacked_structs: set[str] = field(default_factory=set)
    param_defaults: dict[tuple[str, str], str] = field(default_factory=dict)  # (module, param) -> default
    uvm_compat: bool = False
    # files of UVM 1.1/1.2 units (compiled against 2017: what the code meant under 1.x is kept)
    uvm_1x_files: set[str] = field(default_factory=set)
    module_names: dict[str, set[str]] = field(default_factory=dict)  # module/interface -> names it declares
    guards: dict[str, list[str]] = field(default_factory=dict)  # include-guard macro -> files it guards
    virtual_ifaces: set[str] = field(default_factory=set)  # interfaces named in a `virtual` type
    rand_members: dict[str, set[str]] = field(default_factory=dict)  # class -> its own rand/randc properties
    class_bases: dict[str, str] = field(default_factory=dict)  # class -> the class it extends
    vif_typedefs: dict[str, set[str]] = field(default_factory=dict)  # typedef name -> `virtual I` texts
    declares_starting_phase: bool = False  # the unit declares a variable of that name (then it is no 1.x use)

    def rand_members_of(self, cls: str) -> set[str]:
        """The rand properties of ``cls`` and of the classes it extends (as far as the unit declares them)."""
        out: set[str] = set()
        seen: set[str] = set()
        while cls in self.rand_members and cls not in seen:
            seen.add(cls)
            out |= self.rand_members[cls]
            cls = self.class_bases.get(cls, "")
        return out


class FileView:
    """One parsed file: its tree, its bytes and helpers to locate tokens in it."""

    def __init__(self, data: bytes, rel: str) -> None:
        from dvsmith.analysis.parse import _parser

        self.data = data
        self.rel = rel
        self.text = data.decode("utf-8")
        self.tree, buf = _parser().parse(self.text, [])
        self.buf_id = buf.id
        self.nl = [i for i, b in enumerate(data) if b == 10]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.nl, offset - 1) + 1

    def start(self, node: Any) -> int | None:
        tok = node if isinstance(node, Token) else node.getFirstToken()
        if tok is None or tok.isMissing or tok.location.buffer != self.buf_id:
            return None
        return tok.location.offset

    def end(self, node: Any) -> int | None:
        tok = node if isinstance(node, Token) else node.getLastToken()
        if tok is None or tok.isMissing or tok.range.end.buffer != self.buf_id:
            return None
        return tok.range.end.offset

    def src(self, node: Any) -> str:
        s, e = self.start(node), self.end(node)
        return self.data[s:e].decode("utf-8") if s is not None and e is not None else str(node).strip()


def present(tok: Any) -> bool:
    """A token that is in the source (pyslang gives absent optional tokens kind ``Unknown``)."""
    return tok is not None and isinstance(tok, Token) and tok.kind != TokenKind.Unknown and not tok.isMissing


def elements(seplist: Any) -> list[Any]:
    """The items of a pyslang separated list (``a, b`` iterates as a, ',', b): the nodes only."""
    return [x for x in seplist if isinstance(x, syntax.SyntaxNode)]


def nodes(root: Any) -> Iterator[Any]:
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, syntax.SyntaxNode):
            yield n
            stack.extend(reversed([c for c in n if c is not None]))


def tokens(root: Any) -> Iterator[Token]:
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, Token):
            yield n
        elif isinstance(n, syntax.SyntaxNode):
            stack.extend(reversed([c for c in n if c is not None]))


def fresh_name(base: str, used: set[str]) -> str:
    """``base`` (or ``base_2``, ``base_3``, ...) when it is not in ``used``; the name is added to ``used``."""
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}_{i}"
    used.add(name)
    return name


REGISTRY: dict[str, type[Rewrite]] = {}


class Rewrite(ABC):
    """Base of every rewrite; a subclass with a ``name`` registers itself."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        """A cheap test on the raw text before parsing (default: always parse)."""
        return True

    @abstractmethod
    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        """The byte-range edits this rewrite makes in one parsed file (empty: nothing to change)."""



# ---------------------------------------------------------------------------------------------- helpers
def declared_names(mod: Any) -> set[str]:
    """Every name a module declares (ports, nets, variables, instances; locals of its tasks too: a
    superset errs toward leaving a reference alone)."""
    out: set[str] = set()
    for n in nodes(mod):
        if n.kind == SK.Declarator or n.kind == SK.InstanceName:
            out.add(n.name.valueText)
        elif n.kind == SK.ImplicitNonAnsiPort and n.expr is not None:
            out.update(t.valueText for t in tokens(n.expr) if t.kind == TokenKind.Identifier)
    return out


def include_guard(data: bytes) -> tuple[str, str, int] | None:
    """``(X, Y, byte offset of Y)`` when a file opens with `` `ifndef X`` then `` `define Y`` (comments and
    blank lines before them allowed); X == Y for a proper include guard."""
    if b"`ifndef" not in data:
        return None
    from pyslang import BumpAllocator, Diagnostics, SourceManager
    from pyslang.parsing import Lexer

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    sm = SourceManager()
    lexer = Lexer(sm.assignText("f.sv", text), BumpAllocator(), Diagnostics(), sm)
    toks = [lexer.lex() for _ in range(4)]
    if (toks[0].kind == TokenKind.Directive and toks[0].rawText == "`ifndef"
            and toks[2].kind == TokenKind.Directive and toks[2].rawText == "`define"
            and toks[1].kind == TokenKind.Identifier and toks[3].kind == TokenKind.Identifier):  # fmt: skip
        return toks[1].rawText, toks[3].rawText, len(text[: toks[3].location.offset].encode())
    return None


# ---------------------------------------------------------------------------------------------- driver
def gather_context(files: dict[str, bytes], *, uvm_compat: bool = False) -> RewriteContext:
    """Unpacked struct typedef names and module parameter defaults of every file."""
    ctx = RewriteContext(uvm_compat=uvm_compat)
    binds = any(b"bind" in data for data in files.values())  # then bind_upward_ports needs every module's names
    for rel, data in sorted(files.items()):
        guard = include_guard(data)
        if guard is not None and guard[0] == guard[1]:
            ctx.guards.setdefault(guard[0], []).append(rel)
    for rel, data in files.items():
        scopes = binds and (b"module" in data or b"interface" in data)
        rand_classes = b"rand" in data and b"class" in data
        phase = b"starting_phase" in data and not ctx.declares_starting_phase
        if (b"struct" not in data and b"parameter" not in data and b"virtual" not in data and not scopes
                and not rand_classes and not phase):  # fmt: skip
            continue
        try:
            view = FileView(data, rel)
        except UnicodeDecodeError:
            continue
        for n in nodes(view.tree.root):
            if (
                n.kind == SK.TypedefDeclaration
                and n.type.kind in (SK.StructType, SK.UnionType)
                and not present(n.type.packed)
            ):
                ctx.unpacked_structs.add(n.name.valueText)
            if n.kind == SK.VirtualInterfaceType:
                ctx.virtual_ifaces.add(n.name.valueText)
                if n.parent is not None and n.parent.kind == SK.TypedefDeclaration:
                    ctx.vif_typedefs.setdefault(n.parent.name.valueText, set()).add(" ".join(str(n).split()))
            if rand_classes and n.kind == SK.ClassDeclaration:
                _gather_class(n, ctx)
            if phase and n.kind == SK.Declarator and n.name.valueText == "starting_phase":
                ctx.declares_starting_phase = True
            if binds and n.kind in (SK.ModuleDeclaration, SK.InterfaceDeclaration):
                ctx.module_names[n.header.name.valueText] = declared_names(n)
            if n.kind in (SK.ModuleDeclaration, SK.InterfaceDeclaration) and n.header.parameters is not None:
                mod = n.header.name.valueText
                for decl in elements(n.header.parameters.declarations):
                    if decl.kind != SK.ParameterDeclaration:
                        continue
                    for d in elements(decl.declarators):
                        if d.initializer is not None:
                            ctx.param_defaults[(mod, d.name.valueText)] = str(d.initializer.expr).strip()
    return ctx


def _gather_class(cls: Any, ctx: RewriteContext) -> None:
    name = cls.name.valueText
    own = ctx.rand_members.setdefault(name, set())
    ext = cls.extendsClause
    if ext is not None and ext.baseName.kind in (SK.IdentifierName, SK.ClassName):
        ctx.class_bases[name] = ext.baseName.identifier.valueText
    for item in cls.items:
        if item.kind != SK.ClassPropertyDeclaration or item.declaration.kind != SK.DataDeclaration:
            continue
        if any(q.kind in RAND_QUALIFIERS for q in item.qualifiers):
            own.update(d.name.valueText for d in elements(item.declaration.declarators))


#: rewrites kept in modules of their own; they register when imported (here, on first use)
PLUGINS = (
    "dvsmith.sim.module_rewrites", "dvsmith.sim.vif_triggers", "dvsmith.sim.inherited_params",
    "dvsmith.sim.class_rewrites", "dvsmith.sim.process_rewrites", "dvsmith.sim.random_rewrites",
    "dvsmith.sim.uvm_rewrites",
)


def registered_rewrites() -> dict[str, type[Rewrite]]:
    """Every rewrite by name, in the order they apply: by module in ``PLUGINS`` order, then as defined
    (whatever order the modules were first imported in: an edit overlapping an earlier one is dropped)."""
    import importlib

    for module in PLUGINS:
        importlib.import_module(module)
    rank = {m: i for i, m in enumerate(PLUGINS)}
    ordered = sorted(REGISTRY.items(), key=lambda kv: rank.get(kv[1].__module__, len(rank)))
    return dict(ordered)


def enabled_rewrites(disabled: list[str] | None = None) -> list[Rewrite]:
    off = set(disabled or [])
    return [cls() for name, cls in registered_rewrites().items() if name not in off]


def rewrite_text(
    data: bytes, rel: str, ctx: RewriteContext, rewrites: list[Rewrite]
) -> tuple[bytes, list[RewriteRecord]]:
    """The file's bytes after every rewrite, and what changed (unchanged bytes when nothing applies)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data, []
    wanted = [r for r in rewrites if r.wants(text, ctx)]
    if not wanted:
        return data, []
    view = FileView(data, rel)
    chosen: list[tuple[Edit, str]] = []
    for r in wanted:
        for ed in r.edits(view, ctx):
            if any(ed.start < o.end and o.start < ed.end for o, _ in chosen):
                continue  # overlaps an earlier edit
            chosen.append((ed, r.name))
    if not chosen:
        return data, []
    out = bytearray(data)
    for ed, _ in sorted(chosen, key=lambda c: (c[0].start, c[0].end), reverse=True):
        out[ed.start : ed.end] = ed.text.encode()
    records = [RewriteRecord(name=n, file=rel, line=ed.line, what=ed.what) for ed, n in sorted(
        chosen, key=lambda c: c[0].start)]  # fmt: skip
    return bytes(out), records


def rewrite_files(
    root: Path,
    files: list[str],
    *,
    disabled: list[str] | None = None,
    uvm_compat: bool = False,
    uvm_1x_files: set[str] | None = None,
) -> tuple[dict[str, bytes], list[RewriteRecord]]:
    """New contents of the files that change (repo-relative -> bytes) and every change made.
    ``uvm_1x_files``: which of them are code of a UVM 1.1/1.2 unit (all when ``uvm_compat``)."""
    data: dict[str, bytes] = {}
    for rel in files:
        p = root / rel
        if rel.lower().endswith((".sv", ".svh", ".v", ".vh")) and p.is_file() and not p.is_symlink():
            if p.stat().st_size > limits.MAX_FILE_BYTES:  # ingest skipped it: never read, never rewritten
                continue
            data[rel] = p.read_bytes()
    ctx = gather_context(data, uvm_compat=uvm_compat)
    ctx.uvm_1x_files = set(data) if uvm_compat else set(uvm_1x_files or ()) & set(data)
    rewrites = enabled_rewrites(disabled)
    changed: dict[str, bytes] = {}
    records: list[RewriteRecord] = []
    for rel in sorted(data):
        new, recs = rewrite_text(data[rel], rel, ctx, rewrites)
        if recs:
            changed[rel] = new
            records += recs
    return changed, records


def apply_in_place(root: Path, changed: dict[str, bytes]) -> None:
    """Write rewritten files into ``root`` (a copy dvsmith owns: the gym or a scratch copy)."""
    from dvsmith.paths import atomic_write_bytes, confine

    for rel, data in changed.items():
        atomic_write_bytes(confine(root, rel), data)


def copy_tree(src: Path, dst: Path) -> None:
    """A copy of ``src`` at ``dst`` (hidden folders skipped), replacing what was there."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=False, ignore=lambda d, names: [n for n in names if n.startswith(".")],
                    ignore_dangling_symlinks=True)  # fmt: skip
    os.utime(dst)
