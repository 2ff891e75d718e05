"""Rewrites of testbench code that Questa/Xcelium/VCS accept and Verilator 5.048/5.049 rejects.

Seen in ethmac_uvm_ITI_GP (a Questa bench) and Practical-UVM-Step-By-Step (VCS), each reproduced by a
fixture of ours:

- ``class_member_name_clash``: ``class dma_mem; static local bit [31:0] dma_mem [int unsigned]; ...``: a
  property named like its class. Verilator resolves the class's own name (in `` `uvm_object_utils(dma_mem)``,
  in ``dma_mem::read``) to the property and stops. The property is renamed (``m_dma_mem``) with every use
  of it inside the class and in its out-of-block method bodies. Only ``local`` properties: nothing outside
  the class can name them, so the rename is complete by construction.
- ``solve_before_size``: ``solve payload.size before err_pos;`` stops Verilator with an internal error
  ("Unexpected expression type in solve...before lhs") → ``solve payload before err_pos;``. A solve-before
  order only shapes the distribution of the solutions, never which values are legal.
- ``queue_part_select``: ``q[i +: W]`` on a queue (legal: an indexed slice of an unpacked array) is
  unsupported → the plain slice ``q[i : (i)+(W)-1]`` (``-:`` → ``q[(i)-(W)+1 : i]``). Only for names the
  file declares as queues and nowhere as anything else, and only when ``i`` has no side effect (it is
  written twice).
- ``z_compare_in_assertion``: ``rst |-> ack_o !== 1'bz`` in a concurrent assertion: Verilator stops
  ("Unsupported tristate construct: SAMPLED", then an internal error) → ``1'b1`` (``=== 1'bz`` → ``1'b0``),
  the original kept in a comment. Under Verilator no variable ever holds z (it is 2-state; only resolved
  tristate nets see z), so the comparison is a constant there; a reduction (``|rdata !== 1'bz``) is never z
  on any simulator.
- ``randomize_with_parens``: ``cfg.randomize with {...};`` (legal: the parentheses are optional) is a
  Verilator syntax error → ``cfg.randomize() with {...};``.
- ``oversized_literal``: ``32'h0123456678`` has more digits than its size; IEEE 1800 5.7.1 truncates it
  from the left (simulators warn), Verilator stops → ``32'h23456678``, the same value.
- ``vif_typedef_property``: ``typedef virtual wb_master_if v_if; v_if drv_if;`` in a class: Verilator 5.049
  then generates no sampling for the inputs of the interface's clocking blocks, so ``drv_if.master_cb.ACK_I``
  stays 0 for good while ``ACK_I`` is 1 and the driver waits until the time limit (Practical-UVM's wb_master,
  wb_conmax and Part_5). The property's type becomes the typedef's own text (``virtual wb_master_if drv_if;``),
  which Verilator handles; the typedef stays for its other uses. A name typedef'd in the class itself is
  resolved there, else only when the unit typedefs it to one interface type.
- ``duplicate_declaration``: a second declaration of a name in the same module, interface or class
  (``wire mtx_clk, mrx_clk;`` ... ``wire mtx_clk;``; ``status_e status;`` ... ``rand status_e status;``, both
  Practical-UVM): VCS warns ("Warning-[IPDW] ... Second declaration for identifier 'status' ignored") and
  goes on, Verilator stops ("Duplicate declaration of signal") → the second declaration becomes a comment,
  which is what VCS does with it (the first one, qualifiers and type included, is the one that counts).
  Only a declaration all of whose names are declared before in that scope, none of them with an initial
  value; port declarations do not count (``output q; reg q;`` is one declaration in two parts).
- ``empty_queue_in_pattern``: an empty queue ``{}`` as a value in an assignment pattern
  (``'{default:'0, pkt: {}}``) is unsupported there → ``'{}``, which Verilator accepts with the same
  meaning (dropping the item instead would leave ``default:'0`` to a queue member: invalid C++).
"""

from __future__ import annotations

import re
from typing import Any

from pyslang.parsing import TokenKind

from dvsmith.sim.rewrites import SK, Edit, FileView, Rewrite, RewriteContext, elements, nodes, tokens

_NAME_NODES = (SK.IdentifierName, SK.IdentifierSelectName)
#: expression nodes that may be written twice (no call, no assignment, no increment)
_PURE_KINDS = frozenset({
    SK.IdentifierName, SK.IdentifierSelectName, SK.ScopedName, SK.IntegerLiteralExpression,
    SK.IntegerVectorExpression, SK.UnbasedUnsizedLiteralExpression, SK.ParenthesizedExpression,
    SK.AddExpression, SK.SubtractExpression, SK.MultiplyExpression, SK.DivideExpression, SK.ModExpression,
    SK.UnaryMinusExpression, SK.UnaryPlusExpression, SK.ElementSelect, SK.BitSelect, SK.ThisHandle,
    SK.LogicalShiftLeftExpression, SK.LogicalShiftRightExpression,
    SK.ArithmeticShiftLeftExpression, SK.ArithmeticShiftRightExpression,
    SK.MemberAccessExpression, SK.ElementSelectExpression,
})  # fmt: skip


def _pure(expr: Any) -> bool:
    return all(n.kind in _PURE_KINDS for n in nodes(expr))


# ------------------------------------------------------------------------------- class_member_name_clash
def _is_member_use(n: Any) -> bool:
    """An identifier node in an expression position (not a type, not the left of ``::``, not ``x.name``
    of another object): only such nodes name the property."""
    p = n.parent
    if p is None or p.kind in (SK.NamedType, SK.ClassName, SK.FunctionPrototype):
        return False
    if p.kind == SK.ScopedName:
        if p.separator.kind == TokenKind.DoubleColon:
            return False
        if p.right is n:  # a.name: only this.name is ours
            return p.left.kind == SK.ThisHandle
    return True


class ClassMemberNameClash(Rewrite):
    name = "class_member_name_clash"
    summary = "a local class property named like its class -> renamed m_<name> with its uses"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "local" in text and "class" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        root = view.tree.root
        for cls in nodes(root):
            if cls.kind != SK.ClassDeclaration:
                continue
            cname = cls.name.valueText
            clash = None
            for item in cls.items:
                if item.kind != SK.ClassPropertyDeclaration or item.declaration.kind != SK.DataDeclaration:
                    continue
                if not any(q.kind == TokenKind.LocalKeyword for q in item.qualifiers):
                    continue
                for d in elements(item.declaration.declarators):
                    if d.name.valueText == cname and view.start(d.name) is not None:
                        clash = d
            if clash is None:
                continue
            used = {t.valueText for t in tokens(root) if t.kind == TokenKind.Identifier}
            new = next(c for c in (f"m_{cname}", f"{cname}_m", f"{cname}__dvsmith") if c not in used)
            at = view.start(clash.name)
            assert at is not None
            out.append(Edit(at, at + len(cname), new, view.line(at),
                            f"property {cname} of class {cname} -> {new} (Verilator reads the class's own name "
                            f"as the property)"))  # fmt: skip
            bodies = [cls] + [
                f for f in nodes(root)
                if f.kind in (SK.FunctionDeclaration, SK.TaskDeclaration) and f.parent is not None
                and f.parent.kind != SK.ClassMethodDeclaration and f.prototype.name.kind == SK.ScopedName
                and f.prototype.name.separator.kind == TokenKind.DoubleColon
                and str(f.prototype.name.left).strip() == cname
            ]  # fmt: skip
            for body in bodies:
                for n in nodes(body):
                    if n.kind not in _NAME_NODES or n.identifier.valueText != cname or not _is_member_use(n):
                        continue
                    s = view.start(n.identifier)
                    if s is None or s == at:
                        continue
                    out.append(Edit(s, s + len(cname), new, view.line(s), f"use of property {cname} -> {new}"))
        return out


# ------------------------------------------------------------------------------------- solve_before_size
class SolveBeforeSize(Rewrite):
    name = "solve_before_size"
    summary = "solve a.size before b -> solve a before b (Verilator internal error on .size there)"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "solve" in text and "size" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.SolveBeforeConstraint:
                continue
            for item in [*elements(n.beforeExpr), *elements(n.afterExpr)]:
                name = item.left if item.kind == SK.InvocationExpression else item
                if item.kind == SK.InvocationExpression and item.arguments is not None and list(
                    elements(item.arguments.parameters)
                ):
                    continue
                if (name.kind != SK.ScopedName or name.separator.kind != TokenKind.Dot
                        or str(name.right).strip() != "size"):  # fmt: skip
                    continue
                s, e, keep = view.start(item), view.end(item), view.src(name.left)
                if s is None or e is None:
                    continue
                out.append(Edit(s, e, keep, view.line(s),
                                f"solve-before on {view.src(item)} -> on {keep} (the array, size included; "
                                f"the order only shapes the distribution)"))  # fmt: skip
        return out


# ------------------------------------------------------------------------------------- queue_part_select
def _queue_names(root: Any) -> set[str]:
    """Names declared in the file as queues, and nowhere in it as anything else."""
    queues: set[str] = set()
    other: set[str] = set()
    for d in nodes(root):
        if d.kind != SK.Declarator:
            continue
        is_q = any(
            dim.kind == SK.VariableDimension and dim.specifier is not None
            and dim.specifier.kind == SK.QueueDimensionSpecifier
            for dim in d.dimensions
        )  # fmt: skip
        (queues if is_q else other).add(d.name.valueText)
    return queues - other


class QueuePartSelect(Rewrite):
    name = "queue_part_select"
    summary = "q[i +: W] on a queue -> q[i : (i)+(W)-1]"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "[$]" in text and ("+:" in text or "-:" in text)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        root = view.tree.root
        queues = _queue_names(root)
        if not queues:
            return out
        for n in nodes(root):
            if n.kind != SK.IdentifierSelectName or n.identifier.valueText not in queues:
                continue
            sels = list(n.selectors)
            if len(sels) != 1 or sels[0].selector is None:
                continue
            sel = sels[0].selector
            if sel.kind not in (SK.AscendingRangeSelect, SK.DescendingRangeSelect) or not _pure(sel.left):
                continue
            s, e = view.start(sel), view.end(sel)
            if s is None or e is None:
                continue
            i, w = view.src(sel.left), view.src(sel.right)
            text = f"{i} : ({i})+({w})-1" if sel.kind == SK.AscendingRangeSelect else f"({i})-({w})+1 : {i}"
            out.append(Edit(s, e, text, view.line(s),
                            f"{view.src(n)} on queue {n.identifier.valueText} -> "
                            f"{n.identifier.valueText}[{text}]"))  # fmt: skip
        return out


# -------------------------------------------------------------------------------- empty_queue_in_pattern
class EmptyQueueInPattern(Rewrite):
    name = "empty_queue_in_pattern"
    summary = "'{..., member: {}} -> '{..., member: '{}}"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "'{" in text and "{}" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.EmptyQueueExpression or n.parent is None:
                continue
            in_pattern = n.parent.kind == SK.AssignmentPatternItem or (
                n.parent.kind == SK.SimpleAssignmentPattern
            )
            if not in_pattern:
                continue
            s = view.start(n)
            if s is None:
                continue
            out.append(Edit(s, s, "'", view.line(s), "empty queue {} in an assignment pattern -> '{}"))
        return out


# --------------------------------------------------------------------------------- z_compare_in_assertion
_ASSERTIONS = frozenset({SK.AssertPropertyStatement, SK.AssumePropertyStatement, SK.CoverPropertyStatement})


def _all_z(expr: Any) -> bool:
    """A literal whose every bit is z (``1'bz``, ``4'bzzzz``, ``'z``)."""
    if expr.kind == SK.UnbasedUnsizedLiteralExpression:
        return str(expr).strip().lower() == "'z"
    if expr.kind == SK.IntegerVectorExpression:
        text = str(expr).strip().lower().replace("_", "")
        if "'" not in text:
            return False
        base, digits = text.split("'", 1)[1][:1], text.split("'", 1)[1][1:].strip()
        if base == "s":
            base, digits = digits[:1], digits[1:].strip()
        return base in ("b", "h", "o") and bool(digits) and set(digits) <= {"z", "?"}
    return False


class ZCompareInAssertion(Rewrite):
    name = "z_compare_in_assertion"
    summary = "e !== 1'bz / e === 1'bz in a concurrent assertion -> 1'b1 / 1'b0 (no variable holds z in Verilator)"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "property" in text and "z" in text and ("===" in text or "!==" in text)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for stmt in nodes(view.tree.root):
            if stmt.kind not in _ASSERTIONS:
                continue
            for n in nodes(stmt.propertySpec if hasattr(stmt, "propertySpec") else stmt):
                if n.kind not in (SK.CaseInequalityExpression, SK.CaseEqualityExpression):
                    continue
                if not (_all_z(n.right) or _all_z(n.left)):
                    continue
                s, e = view.start(n), view.end(n)
                if s is None or e is None:
                    continue
                const = "1'b1" if n.kind == SK.CaseInequalityExpression else "1'b0"
                src = view.src(n)
                out.append(Edit(s, e, f"{const} /* dvsmith: {src.replace('*/', '* /')} */", view.line(s),
                                f"{src} in an assertion -> {const} (Verilator keeps no z in a variable, and does "
                                f"not support the comparison there: 'Unsupported tristate construct')"))  # fmt: skip
        return out


# ---------------------------------------------------------------------------------- randomize_with_parens
class RandomizeWithParens(Rewrite):
    name = "randomize_with_parens"
    summary = "obj.randomize with {...} -> obj.randomize() with {...}"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "randomize" in text and "with" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for n in nodes(view.tree.root):
            if n.kind != SK.ArrayOrRandomizeMethodExpression or n.method is None:
                continue
            m = n.method
            last = m.right if m.kind == SK.ScopedName else m
            if last.kind != SK.IdentifierName or last.identifier.valueText != "randomize":
                continue  # arr.find with (...) and the like are no randomize calls
            e = view.end(m)
            if e is None:
                continue
            out.append(Edit(e, e, "()", view.line(e),
                            f"{view.src(m)} with {{...}} -> {view.src(m)}() with {{...}} (Verilator's parser needs "
                            f"the parentheses)"))  # fmt: skip
        return out


# --------------------------------------------------------------------------------------- oversized_literal
_DIGIT_BITS = {"b": 1, "o": 3, "h": 4}
_RADIX = {"b": 2, "o": 8, "h": 16, "d": 10}
#: a cheap look at the raw text (only a filter: the edits come from the syntax tree)
_SIZED = re.compile(r"(\d+)\s*'[sS]?([bBoOhHdD])\s*([0-9a-fA-F_]+)")


def _oversized(size: int, base: str, digits: str) -> int | None:
    """The literal's value truncated to ``size`` bits when it does not fit, else None."""
    try:
        value = int(digits.replace("_", ""), _RADIX[base])
    except ValueError:
        return None  # x/z/? digits
    if size == 0 or value < (1 << size):
        return None
    return value & ((1 << size) - 1)


class OversizedLiteral(Rewrite):
    name = "oversized_literal"
    summary = "32'h0123456678 (more digits than its size) -> 32'h23456678, truncated from the left as IEEE 1800 says"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return any(_oversized(int(m[1]), m[2].lower(), m[3]) is not None for m in _SIZED.finditer(text))

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        """From pyslang's lexer, not the tree: a literal in a macro argument (`` `uvm_do_with(req, {d ==
        32'h0123456678;})``, Practical-UVM) is file text the tree only holds as macro output."""
        from pyslang import BumpAllocator, Diagnostics, SourceManager
        from pyslang.parsing import Lexer

        sm = SourceManager()
        lexer = Lexer(sm.assignText(view.rel, view.text), BumpAllocator(), Diagnostics(), sm)
        toks: list[Any] = []
        while (tok := lexer.lex()).kind != TokenKind.EndOfFile:
            toks.append(tok)
        out: list[Edit] = []
        for k in range(len(toks) - 2):
            if toks[k].kind != TokenKind.IntegerLiteral or toks[k + 1].kind != TokenKind.IntegerBase:
                continue
            size_text, base_text = toks[k].rawText, toks[k + 1].rawText
            base = base_text.lower().lstrip("'").lstrip("s")[:1]
            if not size_text.isdigit() or base not in _RADIX:
                continue
            # the digits: the lexer splits 1abc into 1 + abc; they are the adjacent number/name tokens
            start = toks[k + 2].location.offset
            end, digits, n = start, "", k + 2
            while n < len(toks) and toks[n].kind in (TokenKind.IntegerLiteral, TokenKind.Identifier) and (
                toks[n].location.offset == end or n == k + 2
            ):
                digits += toks[n].rawText
                end = toks[n].location.offset + len(toks[n].rawText.encode())
                n += 1
            size = int(size_text)
            kept = _oversized(size, base, digits) if digits else None
            if kept is None:
                continue
            if base == "d":
                new_digits = str(kept)
            else:
                new_digits = format(kept, {"b": "b", "o": "o", "h": "x"}[base]).zfill(-(-size // _DIGIT_BITS[base]))
            old = f"{size_text}{base_text}{digits}"
            out.append(Edit(start, end, new_digits, view.line(start),
                            f"{old}: more digits than its {size} bits -> {size_text}{base_text}{new_digits} "
                            f"(IEEE 1800 5.7.1 truncates from the left; Verilator stops on it)"))  # fmt: skip
        return out


# ---------------------------------------------------------------------------------- vif_typedef_property
class VifTypedefProperty(Rewrite):
    name = "vif_typedef_property"
    summary = "a class property typed by a typedef of a virtual interface -> the virtual interface type itself"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return bool(ctx.vif_typedefs) and "class" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for cls in nodes(view.tree.root):
            if cls.kind != SK.ClassDeclaration:
                continue
            local: dict[str, str] = {}
            for item in cls.items:
                decl = item.declaration if item.kind == SK.ClassPropertyDeclaration else item
                if decl.kind == SK.TypedefDeclaration and decl.type.kind == SK.VirtualInterfaceType:
                    local[decl.name.valueText] = " ".join(str(decl.type).split())
            for item in cls.items:
                if item.kind != SK.ClassPropertyDeclaration or item.declaration.kind != SK.DataDeclaration:
                    continue
                typ = item.declaration.type
                if typ.kind != SK.NamedType or typ.name.kind != SK.IdentifierName:
                    continue
                name = typ.name.identifier.valueText
                texts = ctx.vif_typedefs.get(name, set())
                target = local.get(name) or (next(iter(texts)) if len(texts) == 1 else None)
                s, e = view.start(typ), view.end(typ)
                if target is None or s is None or e is None:
                    continue
                out.append(Edit(s, e, target, view.line(s),
                                f"{name} (typedef of {target}) as a property type -> {target} (with the typedef, "
                                f"Verilator drops the sampling of the interface's clocking-block inputs)"))  # fmt: skip
        return out


# ---------------------------------------------------------------------------------- duplicate_declaration
_DECL_KINDS = (SK.NetDeclaration, SK.DataDeclaration)


class DuplicateDeclaration(Rewrite):
    name = "duplicate_declaration"
    summary = "a second declaration of a name in one module/class -> a comment (VCS ignores it with a warning)"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "module" in text or "interface" in text or "class" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for scope in nodes(view.tree.root):
            if scope.kind in (SK.ModuleDeclaration, SK.InterfaceDeclaration):
                items = list(scope.members)
            elif scope.kind == SK.ClassDeclaration:
                items = list(scope.items)
            else:
                continue
            first: dict[str, int] = {}  # name -> the line of its first declaration
            for item in items:
                decl = item.declaration if item.kind == SK.ClassPropertyDeclaration else item
                if decl is None or decl.kind not in _DECL_KINDS:
                    continue
                declarators = elements(decl.declarators)
                names = [d.name.valueText for d in declarators]
                s, e = view.start(item), view.end(item)
                if s is None or e is None:
                    continue
                if names and all(n in first for n in names) and all(d.initializer is None for d in declarators):
                    gone = view.data[s:e].decode("utf-8")
                    where = ", ".join(f"'{n}' (first at line {first[n]})" for n in names)
                    comment = f"/* dvsmith: second declaration of {', '.join(names)} ignored, as VCS does */"
                    out.append(Edit(s, e, comment + "\n" * gone.count("\n"), view.line(s),
                                    f"{' '.join(gone.split())} -> removed: a second declaration of {where}; VCS "
                                    f"ignores it with a warning, Verilator stops"))  # fmt: skip
                    continue
                for n in names:
                    first.setdefault(n, view.line(s))
        return out
