"""Which file each `` `include`` of the repo names, as ingest resolves it.

An include is looked for next to the including file, then in the build's ``+incdir+`` folders (the
copy nearest the including file when several hold it), then by the path's tail in the repo. Once the
build's roots are known, an include several folders answer is re-decided in the folder order of the
units that compile it (``settle_for_roots``), as their simulator searches.
"""

from __future__ import annotations

import os
import posixpath
from collections import deque
from typing import Any

from dvsmith.analysis.buildsys import BuildScan, PathIndex, is_uvm_library_path
from dvsmith.analysis.profile import Diagnostic

Facts = dict[str, Any]


def _under_incdir(hit: str, incdir: str, path: str) -> bool:
    """``hit`` is what ``include "path"`` finds in folder ``incdir``."""
    return hit == (posixpath.normpath(posixpath.join(incdir, path)) if incdir != "." else posixpath.normpath(path))


def nearest(cands: list[Any], file: str, key: Any = lambda c: c.file) -> Any:
    """The candidate sharing the longest folder path with ``file`` (then the shallowest, then by name)."""

    def score(c: Any) -> tuple[int, int, str]:
        other = key(c)
        common = os.path.commonpath([other, file]) if "/" in file and "/" in other else ""
        return (-(common.count("/") + 1) if common else 0, other.count("/"), other)

    return sorted(cands, key=score)[0]


class IncludeGraph:
    """The resolved include edges of every parsed file (``facts[f]["includes"][i]["resolved"]`` too)."""

    def __init__(self, facts: dict[str, Facts], scan: BuildScan, index: PathIndex) -> None:
        self.facts = facts
        self.scan = scan
        self.index = index
        self.sv_files = set(facts)
        self.diagnostics: list[Diagnostic] = []
        self.includes_of: dict[str, list[str]] = {}
        self.included_by: dict[str, set[str]] = {}
        self.incdir_set: set[str] = set()
        self._resolve()

    def _resolve(self) -> None:
        incdirs = self.scan.incdirs
        self.incdir_set = set(incdirs)
        self._by_base: dict[str, list[str]] = {}
        self._ambiguous: dict[str, list[tuple[dict[str, Any], list[str]]]] = {}  # file -> (include, hits)
        for f in sorted(self.sv_files):
            self._by_base.setdefault(posixpath.basename(f), []).append(f)
        for f in sorted(self.facts):
            here = posixpath.dirname(f) or "."
            for inc in self.facts[f]["includes"]:
                path = inc["path"]
                hits = self._include_hits(path, here, incdirs)
                found = self.resolve_include(path, here, incdirs, hits)
                if found is None:
                    if not is_uvm_library_path(path) and not posixpath.basename(path).startswith("uvm_"):
                        self.diagnostics.append(
                            Diagnostic(file=f, line=inc["line"], message=f"include not found: {path}")
                        )
                    continue
                inc["resolved"] = found
                if len(hits) > 1:
                    self._ambiguous.setdefault(f, []).append((inc, hits))
        self._link()

    def _link(self) -> None:
        self.includes_of = {}
        self.included_by = {}
        for f in sorted(self.facts):
            out = [inc["resolved"] for inc in self.facts[f]["includes"] if "resolved" in inc]
            for found in out:
                self.included_by.setdefault(found, set()).add(f)
            self.includes_of[f] = out

    def _include_hits(self, path: str, here: str, incdirs: list[str]) -> list[str]:
        """The files ``path`` may name from a file in ``here`` through one of ``incdirs`` (empty when the
        including file's own folder holds it: that one is taken first)."""
        cand = posixpath.normpath(posixpath.join(here, path)) if here != "." else posixpath.normpath(path)
        if cand in self.sv_files:
            return []
        norm = posixpath.normpath(path)
        hits: list[str] = []
        if norm.startswith("../") or os.path.isabs(norm):
            for d in incdirs:
                c = posixpath.normpath(posixpath.join(d, path)) if d != "." else norm
                if c in self.sv_files:
                    hits.append(c)
        else:
            # files whose path ends with the include path, under one of the include folders
            for f in self._by_base.get(posixpath.basename(norm), ()):
                if f == norm:
                    if "." in self.incdir_set:
                        hits.append(f)
                elif f.endswith("/" + norm) and f[: -len(norm) - 1] in self.incdir_set:
                    hits.append(f)
        return hits

    def resolve_include(self, path: str, here: str, incdirs: list[str], hits: list[str] | None = None) -> str | None:
        cand = posixpath.normpath(posixpath.join(here, path)) if here != "." else posixpath.normpath(path)
        if cand in self.sv_files:
            return cand
        hits = self._include_hits(path, here, incdirs) if hits is None else hits
        if hits:
            return nearest(hits, here + "/x", key=lambda c: c)
        found = self.index.resolve(path, [here])
        return found if found in self.sv_files else None

    def settle_for_roots(self) -> None:
        """An include that several folders of the repo's ``+incdir+`` union can answer was taken from the
        folder nearest the including file; the unit that compiles it searches its own ``+incdir+`` folders
        in order, as its simulator does. When the units compiling a file agree on a different file, theirs
        wins (Practical-UVM's wb_dma bench lists bench/common before its own src/, and VCS's log shows
        common/'s sequence library parsed, not src/'s)."""
        for _ in range(3):  # a new choice may pull in files with ambiguous includes of their own
            votes: dict[int, tuple[dict[str, Any], set[str]]] = {}
            for root in self.scan.roots:
                order = [posixpath.normpath(d) for d in root.incdirs]
                closure = self.closure([s for s in root.sources if s in self.sv_files])
                for f in closure:
                    for inc, hits in self._ambiguous.get(f, ()):
                        pick = next((h for d in order for h in hits if _under_incdir(h, d, inc["path"])), None)
                        if pick is not None:
                            votes.setdefault(id(inc), (inc, set()))[1].add(pick)
            changed = False
            for inc, picks in votes.values():
                if len(picks) == 1 and inc["resolved"] != next(iter(picks)):
                    inc["resolved"] = next(iter(picks))
                    changed = True
            if not changed:
                return
            self._link()

    def preorder(self, direct: list[str], seen: set[str]) -> list[str]:
        """Files pulled in by ``direct`` includes, transitively, depth first in include order."""
        out: list[str] = []
        stack = list(reversed(direct))
        seen = set(seen)
        while stack:
            f = stack.pop()
            if f in seen:
                continue
            seen.add(f)
            out.append(f)
            stack.extend(reversed(self.includes_of.get(f, [])))
        return out

    def closure(self, roots: list[str]) -> list[str]:
        seen: list[str] = []
        seen_set: set[str] = set()
        todo = deque(roots)
        while todo:
            f = todo.popleft()
            if f in seen_set:
                continue
            seen_set.add(f)
            seen.append(f)
            todo.extend(self.includes_of.get(f, []))
        return seen
