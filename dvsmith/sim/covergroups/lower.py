"""Lower every covergroup of a file (``lower_text``) or of a tree copy (``lower_tree``) into code
Verilator runs, as byte-range edits on the original text (deterministic: same input, same edits).

The replacement text keeps the line count of what it replaces (its lines spread over the covergroup's
lines, padded with newlines), so every other line keeps its number in logs and coverage, and
it is wrapped in ``/*verilator coverage_off*/`` so the generated code adds no code-coverage points.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pyslang import syntax

from dvsmith import paths
from dvsmith.analysis import parse as sv_parse
from dvsmith.sim.covergroups.emit import class_name, emit
from dvsmith.sim.covergroups.extract import Source, covergroup_spec
from dvsmith.sim.covergroups.model import (
    CovergroupSpec,
    Edit,
    FileLowering,
    LoweringResult,
    Unsupported,
)
from dvsmith.sim.covergroups.runtime import PACKAGE_NAME, package_source

SK = syntax.SyntaxKind
PACKAGE_FILE = f"{PACKAGE_NAME}.sv"
_RESERVED = (b"dvsmith_fcov", b"dvsmith_cg_", b"dvsmith_build_", b"dvsmith_sample_", b"dvsmith_clock_")
_MODULE_KINDS = (SK.ModuleDeclaration, SK.InterfaceDeclaration, SK.ProgramDeclaration)


def _spread(text: str, newlines: int) -> str:
    """The generated code laid over the lines of the covergroup it replaces: the same line count (every
    later line keeps its number), the generated lines spread evenly over them. On one line, a big
    covergroup's code exceeds Verilator's preprocessor limit ("Too many preprocessor tokens on a line",
    40000: Practical-UVM's 150-coverpoint RAL ``cg_addr`` made a 152 kB line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    per = max(1, -(-len(lines) // (newlines + 1)))  # ceil: at most newlines + 1 rows
    rows = [" ".join(lines[i : i + per]) for i in range(0, len(lines), per)]
    body = "\n".join(rows)
    return f"/*verilator coverage_off*/ {body} /*verilator coverage_on*/" + "\n" * (newlines - len(rows) + 1)


class _FileLowerer:
    def __init__(self, src: Source, tree: Any, top: str | None) -> None:
        self.src = src
        self.tree = tree
        self.top = top
        self.out = FileLowering(file=src.file)
        self.specs: list[CovergroupSpec] = []
        self.top_done = False

    def edit(self, start: int, end: int, text: str) -> None:
        self.out.edits.append(Edit(start=start, end=end, text=text))

    def unsupported(self, node: Any, scope: str, construct: str) -> None:
        off = self.src.start(node) or 0
        self.out.unsupported.append(
            Unsupported(
                file=self.src.file,
                line=self.src.line(off),
                covergroup=f"{scope}::{node.name.valueText}",
                what=construct,
            )
        )
        self.hollow(node)

    def hollow(self, node: Any) -> None:
        """Empty the body of a covergroup left unlowered (it is not scored): Verilator ignores covergroups
        but must still parse them, and its grammar lacks some of what other simulators take (a cross bin
        ``with`` filter: "syntax error, unexpected with-then-("). Header, ``new`` and ``sample`` stay."""
        if node.kind != SK.CovergroupDeclaration or not list(node.members):
            return
        start, end = self.src.end(node.semi), self.src.start(node.endgroup)
        if start is None or end is None or end <= start:
            return
        newlines = self.src.data[start:end].count(b"\n")
        self.edit(start, end, " /* dvsmith: covergroup not lowered, body left out of the compile */ " + "\n" * newlines)

    def walk(self, node: Any, scope: str | None, kind: str | None, direct: bool) -> None:
        for child in node:
            if not isinstance(child, syntax.SyntaxNode):
                continue
            k = child.kind
            if k == SK.CovergroupDeclaration:
                if scope is None or kind is None:
                    self.unsupported(child, "$unit", "covergroup outside a module, interface, package or class")
                elif not direct:
                    self.unsupported(child, scope, "covergroup in a generate block")
                else:
                    self.covergroup(child, scope, kind, node)
            elif k == SK.ClassDeclaration:
                self.walk(child, child.name.valueText, "class", True)
                continue
            elif k in _MODULE_KINDS:
                name = child.header.name.valueText
                self.walk(child, name, "module", True)
                if k == SK.ModuleDeclaration and name == self.top:
                    self.final_block(child)
            elif k == SK.PackageDeclaration:
                self.walk(child, child.header.name.valueText, "package", True)
            else:
                self.walk(child, scope, kind, direct and k not in (
                    SK.GenerateRegion, SK.GenerateBlock, SK.IfGenerate, SK.LoopGenerate, SK.CaseGenerate,
                    SK.ElseClause, SK.FunctionDeclaration, SK.TaskDeclaration,
                ))  # fmt: skip

    def final_block(self, module: Any) -> None:
        end = self.src.start(module.endmodule)
        if end is None:
            return
        self.edit(end, end, f"final {PACKAGE_NAME}::write_all(); ")
        self.top_done = True

    def covergroup(self, node: Any, scope: str, kind: str, parent: Any) -> None:
        spec_kind = "class" if kind == "class" else "module"
        spec = covergroup_spec(self.src, node, scope, spec_kind)
        if isinstance(spec, list):
            self.out.unsupported += spec
            self.hollow(node)
            return
        if kind == "package" and spec.event:
            self.unsupported(node, scope, "clocking event on a covergroup in a package")
            return
        start, end = self.src.start(node), self.src.end(node)
        if start is None or end is None:
            self.unsupported(node, scope, "covergroup text produced by a macro")
            return
        if kind == "class":
            news = self._constructions(parent, spec.name)
            if news is None:
                self.unsupported(node, scope, "covergroup instance not created by 'name = new(...)' in its class")
                return
            for pos, text in news:
                self.edit(pos, pos, text)
        instances: list[str] = []
        if kind != "class" and spec.event:
            instances = self._instances(parent, spec.name)
            if not instances:
                self.unsupported(node, scope, "clocking-event covergroup with no instance declared in its module")
                return
        text = emit(spec, outer=scope if kind == "class" else None, instances=instances)
        newlines = self.src.data[start:end].count(b"\n")
        self.edit(start, end, _spread(text, newlines))
        self.specs.append(spec)
        self.out.lowered.append(spec.type_name)

    def _instances(self, module: Any, name: str) -> list[str]:
        """Variables of type ``name`` the module declares directly (arrays are not sampled)."""
        out: list[str] = []
        for m in module:
            if not isinstance(m, syntax.SyntaxNode) or m.kind != SK.DataDeclaration:
                continue
            t = m.type
            if t.kind != SK.NamedType or t.name.kind != SK.IdentifierName or t.name.identifier.valueText != name:
                continue
            for d in m.declarators:
                if isinstance(d, syntax.SyntaxNode) and not [
                    x for x in d.dimensions if isinstance(x, syntax.SyntaxNode)
                ]:
                    out.append(d.name.valueText)
        return out

    def _constructions(self, klass: Any, name: str) -> list[tuple[int, str]] | None:
        """Insertion points that make every ``name = new(...)`` in the class pass ``this`` first."""
        out: list[tuple[int, str]] = []
        stack = [klass]
        while stack:
            n = stack.pop()
            for c in n:
                if isinstance(c, syntax.SyntaxNode):
                    stack.append(c)
            if n.kind != SK.AssignmentExpression or n.right.kind != SK.NewClassExpression:
                continue
            left = n.left
            target = None
            if left.kind == SK.IdentifierName:
                target = left.identifier.valueText
            elif (
                left.kind == SK.ScopedName and left.left.kind == SK.ThisHandle and left.right.kind == SK.IdentifierName
            ):
                target = left.right.identifier.valueText
            if target != name:
                continue
            new = n.right
            if new.scopedNew.kind != SK.ConstructorName:
                return None
            args = new.argList
            if args is None:
                pos = self.src.end(new.scopedNew)
                text = "(this)"
            else:
                pos = self.src.end(args.openParen)
                text = "this, " if [a for a in args.parameters if isinstance(a, syntax.SyntaxNode)] else "this"
            if pos is None:
                return None
            out.append((pos, text))
        return sorted(out) if out else None


def lower_text(data: bytes, file: str, *, top: str | None = None, defines: list[str] | None = None,
               ) -> tuple[FileLowering, list[CovergroupSpec], bool]:  # fmt: skip
    """Edits that lower the covergroups of one file's text; whether the top module's final block was put in."""
    if b"covergroup" not in data and (top is None or top.encode() not in data):
        out = FileLowering(file=file)
        out.tampering = [f"{file}: names {r.decode()}" for r in _RESERVED if r in data]
        return out, [], False
    text, _bad = sv_parse.decode(data)
    tree, buf = sv_parse._parser().parse(text, defines or [])
    low = _FileLowerer(Source(data, buf.id, file), tree, top)
    low.walk(tree.root, None, None, True)
    low.out.edits.sort(key=lambda e: (e.start, e.end))
    low.out.tampering = [f"{file}: names {r.decode()}" for r in _RESERVED if r in data]
    return low.out, low.specs, low.top_done


def apply_edits(data: bytes, edits: Iterable[Edit]) -> bytes:
    """``data`` with the (non-overlapping) edits applied."""
    out: list[bytes] = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < pos:
            raise ValueError(f"overlapping edits at byte {e.start}")
        out.append(data[pos : e.start])
        out.append(e.text.encode())
        pos = e.end
    out.append(data[pos:])
    return b"".join(out)


def lower_tree(
    root: Path,
    files: list[Path],
    *,
    top: str | None = None,
    uvm: bool = True,
    defines: list[str] | None = None,
) -> LoweringResult:
    """Lower the covergroups of ``files`` in the tree ``root`` (a scratch copy: files are edited in
    place) and write ``dvsmith_fcov_pkg.sv`` at its root, to be compiled before the testbench (after
    the UVM package when ``uvm``). ``top`` gets the final block that writes the results."""
    root = root.resolve()
    result = LoweringResult(root=root, top=None)
    seen: set[Path] = set()
    for f in sorted({Path(f) for f in files}):
        try:
            rel_in = f.resolve().relative_to(root) if f.is_absolute() else f
            path = paths.confine(root, rel_in.as_posix())
        except ValueError:
            continue
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        out, specs, top_done = lower_text(data, rel, top=top, defines=defines)
        if top_done:
            result.top = top
        if out.edits:
            paths.atomic_write_bytes(path, apply_edits(data, out.edits))
        if out.edits or out.unsupported or out.tampering:
            result.files.append(out)
        result.lowered += out.lowered
        result.unsupported += out.unsupported
        result.tampering += out.tampering
        result.covergroups += specs
    pkg = root / PACKAGE_FILE
    paths.atomic_write_text(pkg, package_source(uvm=uvm))
    result.package = pkg
    return result


__all__ = ["PACKAGE_FILE", "apply_edits", "class_name", "lower_text", "lower_tree"]
