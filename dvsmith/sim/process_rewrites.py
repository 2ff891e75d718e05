"""Rewrites of procedural code that Questa accepts and Verilator 5.049 miscompiles (seen in ethmac_uvm_ITI_GP).

- ``disable_from_nested_fork``: ``disable L`` where ``L`` is a named fork the statement sits in, but inside
  a second fork nested in ``L``::

      fork : L
        ...
        begin fork : F2  begin ... disable L; end ... join_any  ... end
      join

  Verilator turns the disable into a jump across a process boundary: an internal error ("Unexpected
  Call") or a crash while writing C++ (``EmitCFunc`` on ``AstJumpGo``: ``unordered_map::at``). A disable of
  the fork directly from one of its own branches compiles and works. So the nested disable sets a flag and
  disables the inner fork (a direct branch of it), and right after the inner fork's join the enclosing
  branch disables ``L`` when the flag is set. Same time step, same processes killed; the one difference is
  the order of zero-time work of other processes in that step. Only for an inner fork that ends with
  ``join`` or ``join_any`` (with ``join_none`` its parent would be past the check).
- ``block_locals_after_return``: a class method with a ``return`` and, after it, an unnamed
  ``begin ... end`` block declaring integral variables: with line/toggle coverage Verilator stops
  ("Internal Error: Can't locate varref scope", V3Scope.cpp:88) at the first use of such a variable. The
  declarations move to the method's top; at their old place each variable is assigned its initial value
  (the initializer, or ``'0``: a class method is automatic, so the block started from that value each time).
  Only when the names are used nowhere else in the method (the move cannot capture another name).
- ``stream_in_comparison``: ``if ({>>{temp}} != item.preamble)`` with ``bit temp[$]``: a streaming
  concatenation as an operand of ``==``/``!=``/``===``/``!==`` (IEEE 1800 11.4.14 allows a stream only as
  an assignment source or target or a cast operand; Questa takes it as the concatenated bits). Verilator
  drops the stream and emits a queue-to-integer comparison no C++ compiler builds, and a cast of the
  stream is unsupported. The stream becomes ``dvsmith_stream_bits(temp)``, a static method the rewrite adds
  to the enclosing class: the queue's bits, first element most significant, as an unsigned 4096-bit value
  (compared zero-extended, as the concatenation is). Only ``>>`` without a slice size, over one queue of
  ``bit`` or ``logic`` the file declares, inside a class declared in the same file.
- ``event_null_assignment``: ``send_to_get = null;`` where ``send_to_get`` is an ``event`` the file declares
  (Practical-UVM's wb_slave, after ``wait(send_to_get.triggered)``: "consume" the trigger so the next
  ``get`` waits). Verilator emits an assignment of ``VlNull`` to its event type that no C++ compiler
  builds. The event is given a fresh one instead, ``begin event dvsmith_null_ev; e = dvsmith_null_ev; end``
  (event assignment, IEEE 1800 15.5.5.1): not triggered, so a wait in the same time step blocks, and a
  later ``->`` triggers it and wakes its waiters. Merely dropping the statement is wrong: a loop calling
  ``get`` again without a delay passes every wait in the trigger's time step (checked on real Verilator:
  got 1, 2, 3 all at 5 where the fresh event gives 5, 10, 15). In a class method (automatic) the block's
  event is new on every call; in static code it is one variable, triggered again only within the time
  step of a ``->``.
"""

from __future__ import annotations

from typing import Any

from pyslang.parsing import TokenKind

from dvsmith.sim.rewrites import (
    SK,
    Edit,
    FileView,
    Rewrite,
    RewriteContext,
    elements,
    fresh_name,
    nodes,
    present,
    tokens,
)

_JOINS = (TokenKind.JoinKeyword, TokenKind.JoinAnyKeyword)


def _block_name(block: Any) -> str | None:
    """The name of a begin/fork block: ``fork : name`` or ``name : fork``."""
    if block.blockName is not None:
        return str(block.blockName.name.valueText)
    if block.label is not None:
        return str(block.label.name.valueText)
    return None


class DisableFromNestedFork(Rewrite):
    name = "disable_from_nested_fork"
    summary = "disable of an enclosing fork from inside a nested fork -> flag + disable of the inner fork"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "disable" in text and "fork" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        used = {t.valueText for t in tokens(view.tree.root) if t.kind == TokenKind.Identifier}
        groups: dict[tuple[int, int], list[Any]] = {}  # (outer fork, inner fork) offsets -> disables
        forks: dict[tuple[int, int], tuple[Any, str]] = {}  # the same key -> (inner fork, name of L)
        for d in nodes(view.tree.root):
            if d.kind != SK.DisableStatement or d.name.kind != SK.IdentifierName:
                continue
            target = d.name.identifier.valueText
            chain: list[Any] = []
            p = d.parent
            while p is not None:
                chain.append(p)
                if p.kind in (SK.ParallelBlockStatement, SK.SequentialBlockStatement) and _block_name(p) == target:
                    break
                p = p.parent
            if p is None or p.kind != SK.ParallelBlockStatement:
                continue
            inner = [n for n in chain[:-1] if n.kind == SK.ParallelBlockStatement]
            if len(inner) != 1 or inner[0].end.kind not in _JOINS:
                continue  # not nested (Verilator copes), nested twice, or join_none
            f2 = inner[0]
            holder = f2.parent
            if holder is None or holder.kind != SK.SequentialBlockStatement or holder is chain[-1]:
                continue  # the inner fork must sit in a begin-end block of a branch of L
            if any(n.kind in (SK.FunctionDeclaration, SK.TaskDeclaration) for n in chain):
                continue
            key = (view.start(p) or -1, view.start(f2) or -1)
            groups.setdefault(key, []).append(d)
            forks[key] = (f2, target)
        for key, disables in groups.items():
            f2, target = forks[key]
            holder = f2.parent
            starts = [view.start(holder.begin), view.start(f2), view.end(f2)]
            if any(s is None for s in starts) or any(view.start(d) is None for d in disables):
                continue
            flag = fresh_name(f"dvsmith_off_{target}", used)
            inner_name = _block_name(f2)
            line = view.line(starts[1] or 0)
            if inner_name is None:
                inner_name = fresh_name(f"dvsmith_fork_{line}", used)
                at = view.end(f2.begin)
                assert at is not None
                out.append(Edit(at, at, f" : {inner_name}", line, f"inner fork named {inner_name}"))
            b_end = view.end(holder.blockName) if holder.blockName is not None else view.end(holder.begin)
            assert b_end is not None
            out.append(Edit(b_end, b_end, f" bit {flag};", view.line(b_end),
                            f"flag {flag}: disable {target} asked from inside fork {inner_name}"))  # fmt: skip
            out.append(Edit(starts[1], starts[1], f"{flag} = 1'b0; ", line, f"{flag} cleared before the inner fork"))  # type: ignore[arg-type]
            out.append(Edit(starts[2], starts[2], f" if ({flag}) disable {target};", view.line(starts[2]),  # type: ignore[arg-type]
                            f"after the inner fork joins: disable {target} when asked"))  # fmt: skip
            for d in disables:
                s, e = view.start(d.disable), view.end(d)
                assert s is not None and e is not None
                out.append(Edit(s, e, f"begin {flag} = 1'b1; disable {inner_name}; end", view.line(s),
                                f"disable {target} (from inside fork {inner_name}, a process Verilator cannot "
                                f"jump out of) -> flag + disable {inner_name}; {target} is disabled after "
                                f"{inner_name} joins"))  # fmt: skip
        return out


# ------------------------------------------------------------------------------- block_locals_after_return
_INTEGRAL = frozenset({
    SK.BitType, SK.LogicType, SK.RegType, SK.IntType, SK.IntegerType, SK.ByteType, SK.ShortIntType,
    SK.LongIntType,
})  # fmt: skip


def _class_method(f: Any) -> bool:
    p = f.parent
    if p is not None and p.kind == SK.ClassMethodDeclaration:
        return True
    name = f.prototype.name
    return name.kind == SK.ScopedName and name.separator.kind == TokenKind.DoubleColon


class BlockLocalsAfterReturn(Rewrite):
    name = "block_locals_after_return"
    summary = "integral locals of an unnamed block after a return (class method) -> declared at the method's top"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "return" in text and ("class" in text or "::" in text)

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        out: list[Edit] = []
        for f in nodes(view.tree.root):
            if f.kind not in (SK.FunctionDeclaration, SK.TaskDeclaration) or not _class_method(f):
                continue
            returns = [view.start(r) for r in nodes(f) if r.kind == SK.ReturnStatement]
            first_return = min((r for r in returns if r is not None), default=None)
            top = view.end(f.semi)
            if first_return is None or top is None:
                continue
            ident_uses: dict[str, int] = {}
            for t in tokens(f):
                if t.kind == TokenKind.Identifier:
                    ident_uses[t.valueText] = ident_uses.get(t.valueText, 0) + 1
            for blk in nodes(f):
                if blk.kind != SK.SequentialBlockStatement or _block_name(blk) is not None:
                    continue
                b_start = view.start(blk)
                if b_start is None or b_start < first_return:
                    continue
                decls = [i for i in blk.items if i.kind == SK.DataDeclaration]
                if not decls or any(n.kind == SK.ParallelBlockStatement for n in nodes(blk)):
                    continue
                ok = True
                hoisted: list[str] = []
                resets: list[tuple[Any, str]] = []
                for dd in decls:
                    if dd.type.kind not in _INTEGRAL or any(present(m) for m in dd.modifiers):
                        ok = False
                        break
                    parts = []
                    for d in elements(dd.declarators):
                        if len(d.dimensions) or view.start(d) is None:
                            ok = False
                            break
                        name = d.name.valueText
                        inside = sum(1 for t in tokens(blk) if t.kind == TokenKind.Identifier and t.valueText == name)
                        if ident_uses.get(name, 0) != inside:
                            ok = False  # the name is used outside the block too: moving it could capture it
                            break
                        init = view.src(d.initializer.expr) if d.initializer is not None else "'0"
                        parts.append(f"{name} = {init};")
                        hoisted.append(f"{view.src(dd.type)} {name};")
                    if not ok:
                        break
                    resets.append((dd, " ".join(parts)))
                if not ok:
                    continue
                out.append(Edit(top, top, " " + " ".join(hoisted), view.line(top),
                                "declarations moved here from an unnamed block after a return (Verilator's "
                                "coverage loses their scope: \"Can't locate varref scope\")"))  # fmt: skip
                for dd, text in resets:
                    s, e = view.start(dd), view.end(dd)
                    assert s is not None and e is not None
                    out.append(Edit(s, e, text, view.line(s), f"declaration moved to the method's top -> {text}"))
        return out


# ------------------------------------------------------------------------------- stream_in_comparison
_EQUALITY = (SK.EqualityExpression, SK.InequalityExpression, SK.CaseEqualityExpression, SK.CaseInequalityExpression)
_STREAM_WIDTH = 4096


def _bit_queues(root: Any) -> dict[str, str]:
    """Names declared as queues of single bits (``bit q[$]`` / ``logic q[$]``) and as nothing else."""
    kinds: dict[str, set[str]] = {}
    for d in nodes(root):
        if d.kind != SK.Declarator or d.parent is None or d.parent.kind != SK.DataDeclaration:
            continue
        t = d.parent.type
        queue = (
            t.kind in (SK.BitType, SK.LogicType) and not len(t.dimensions) and len(d.dimensions) == 1
            and d.dimensions[0].specifier is not None
            and d.dimensions[0].specifier.kind == SK.QueueDimensionSpecifier
        )  # fmt: skip
        kind = ("bit" if t.kind == SK.BitType else "logic") if queue else "other"
        kinds.setdefault(d.name.valueText, set()).add(kind)
    return {n: next(iter(k)) for n, k in kinds.items() if len(k) == 1 and "other" not in k}


def _enclosing_class(n: Any, classes: dict[str, Any]) -> Any:
    p = n.parent
    while p is not None:
        if p.kind == SK.ClassDeclaration:
            return p
        if p.kind in (SK.FunctionDeclaration, SK.TaskDeclaration):
            name = p.prototype.name
            if name.kind == SK.ScopedName and name.separator.kind == TokenKind.DoubleColon:
                return classes.get(str(name.left).strip())
        p = p.parent
    return None


def _helper_text(kind: str, fn: str) -> str:
    w = _STREAM_WIDTH
    return (f" static function {kind} [{w - 1}:0] {fn}({kind} q[$]); {kind} [{w - 1}:0] r; r = '0;"
            f" foreach (q[i]) r = {{r[{w - 2}:0], q[i]}}; return r; endfunction")  # fmt: skip


class StreamInComparison(Rewrite):
    name = "stream_in_comparison"
    summary = "{>>{q}} as an operand of == / != (q a bit/logic queue) -> a helper returning the stream's bits"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "{>>" in text.replace(" ", "") and "class" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        root = view.tree.root
        queues = _bit_queues(root)
        classes = {c.name.valueText: c for c in nodes(root) if c.kind == SK.ClassDeclaration}
        used = {t.valueText for t in tokens(root) if t.kind == TokenKind.Identifier}
        out: list[Edit] = []
        helpers: dict[int, dict[str, str]] = {}  # class offset -> element type -> helper name
        owners: dict[int, Any] = {}
        for cmp in nodes(root):
            if cmp.kind not in _EQUALITY:
                continue
            for side in (cmp.left, cmp.right):
                if side.kind != SK.StreamingConcatenationExpression:
                    continue
                if side.operatorToken.kind != TokenKind.RightShift or side.sliceSize is not None:
                    continue
                items = elements(side.expressions)
                if len(items) != 1 or items[0].withRange is not None or items[0].expression.kind != SK.IdentifierName:
                    continue
                q = items[0].expression.identifier.valueText
                elem = queues.get(q)
                cls = _enclosing_class(cmp, classes)
                s, e = view.start(side), view.end(side)
                if elem is None or cls is None or s is None or e is None or view.start(cls) is None:
                    continue
                key = view.start(cls) or 0
                owners[key] = cls
                per = helpers.setdefault(key, {})
                if elem not in per:
                    per[elem] = fresh_name("dvsmith_stream_bits" if elem == "bit" else "dvsmith_stream_logic", used)
                what = (f"{{>>{{{q}}}}} compared with ==/!= -> {per[elem]}({q}) (Verilator compiles a stream "
                        "only as an assignment source or target)")  # fmt: skip
                out.append(Edit(s, e, f"{per[elem]}({q})", view.line(s), what))
        for key, per in helpers.items():
            cls = owners[key]
            at = view.end(cls.semi)
            if at is None:
                continue
            for kind, fn in sorted(per.items()):
                what = (f"helper {fn} added to class {cls.name.valueText}: a {kind} queue's bits, first element "
                        "most significant (what the stream means as an operand)")  # fmt: skip
                out.append(Edit(at, at, _helper_text(kind, fn), view.line(at), what))
        return out


# ------------------------------------------------------------------------------------ event_null_assignment
def _event_names(root: Any) -> set[str]:
    """Names declared with type ``event`` in the file (class properties, module and block variables), but
    names the file also declares with another type (an assignment of null to one may not be an event's)."""
    events: set[str] = set()
    others: set[str] = set()
    for n in nodes(root):
        if n.kind == SK.DataDeclaration and n.type is not None:
            names = {d.name.valueText for d in elements(n.declarators)}
            (events if n.type.kind == SK.EventType else others).update(names)
    return events - others


def _assigned_name(left: Any) -> str | None:
    """``e`` for ``e`` or ``this.e``; None for anything else."""
    if left.kind == SK.IdentifierName:
        return left.identifier.valueText
    if left.kind == SK.ScopedName and left.left.kind == SK.ThisHandle and left.right.kind == SK.IdentifierName:
        return left.right.identifier.valueText
    return None


class EventNullAssignment(Rewrite):
    name = "event_null_assignment"
    summary = "ev = null; on an event -> ev = a fresh event (Verilator cannot assign null to an event)"

    def wants(self, text: str, ctx: RewriteContext) -> bool:
        return "event" in text and "null" in text

    def edits(self, view: FileView, ctx: RewriteContext) -> list[Edit]:
        events = _event_names(view.tree.root)
        out: list[Edit] = []
        if not events:
            return out
        used = {t.valueText for t in tokens(view.tree.root) if t.kind == TokenKind.Identifier}
        for st in nodes(view.tree.root):
            if st.kind != SK.ExpressionStatement or st.expr.kind != SK.AssignmentExpression:
                continue
            a = st.expr
            if a.right.kind != SK.NullLiteralExpression or _assigned_name(a.left) not in events:
                continue
            s, e = view.start(st), view.end(st)
            if s is None or e is None:
                continue
            original = view.src(st)
            if "*/" in original:
                continue
            fresh = fresh_name("dvsmith_null_ev", used)
            target = view.src(a.left)
            what = (f"{original} (an event) -> {target} = a fresh event (Verilator cannot assign null to an event; "
                    "the fresh one is not triggered until the next ->)")  # fmt: skip
            out.append(Edit(s, e, f"begin event {fresh}; {target} = {fresh}; end /* dvsmith: {original} */",
                            view.line(s), what))  # fmt: skip
        return out
