"""The repo's own build: Makefiles, run scripts, filelists, FuseSoC cores.

Build files are read line by line (they are not SystemVerilog): variable assignments are expanded,
then command-line tokens are scanned for filelists (``-f``/``-F``), sources, ``+incdir+``,
``+define+``, ``-top`` and ``+UVM_TESTNAME``. Each command line that names sources or filelists is a
*root*: one independently compiled testbench (several lines naming the same files are one root).
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dvsmith.analysis.profile import BuildInfo, Recipe

SV_EXTS = (".sv", ".svh", ".v", ".vh")
SOURCE_EXTS = (".sv", ".v", ".svp", ".vp")
FILELIST_EXTS = (".f", ".fl", ".flist", ".vc", ".vf")
SCRIPT_EXTS = (".sh", ".bash", ".csh", ".py", ".bat", ".do", ".tcl", ".pl")
MAKE_NAMES = ("makefile", "gnumakefile")
MAKE_EXTS = (".mk", ".mak", ".make")

#: command word -> simulator family reported in ``build.simulators``
SIMULATORS = {
    "xrun": "xcelium",
    "irun": "xcelium",
    "ncvlog": "xcelium",
    "ncsim": "xcelium",
    "xmvlog": "xcelium",
    "vcs": "vcs",
    "vsim": "questa",
    "vlog": "questa",
    "qrun": "questa",
    "vopt": "questa",
    "vlib": "questa",
    "verilator": "verilator",
    "dsim": "dsim",
    "xvlog": "vivado",
    "xelab": "vivado",
    "xsim": "vivado",
    "iverilog": "icarus",
}

_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_MAKE_ASSIGN = re.compile(r"^\s*(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:=|::=|\+=|=)\s*(.*)$")
_SH_ASSIGN = re.compile(
    r"^\s*(?:(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)|(?:setenv|set)\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*))$"
)
_GENERIC_TARGET = re.compile(
    r"\(default\)|all|run|sim|simulate|compile|comp|build|elab|elaborate|test|regress|regression|vcs|xrun|qrun|"
    r"verilator|dsim|vsim|vlog|run_?test|sim_?run",
    re.IGNORECASE,
)
_UNEXPANDED = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_UVM_HINTS = ("uvm_home", "uvm_pkg.sv", "uvm_macros.svh", "uvm_src", "uvm-1.", "uvm-ieee", "$uvm", "uvm_root")


def is_uvm_library_path(token: str) -> bool:
    low = token.lower()
    return any(h in low for h in _UVM_HINTS)


@dataclass
class Root:
    """One testbench as a build line (or root filelist) compiles it."""

    name: str
    root: str  # repo-relative folder the command runs from
    filelists: list[str] = field(default_factory=list)  # every filelist read (root first)
    sources: list[str] = field(default_factory=list)  # repo-relative, in order
    incdirs: list[str] = field(default_factory=list)
    defines: dict[str, str | None] = field(default_factory=dict)
    tops: list[str] = field(default_factory=list)
    origin: str = ""  # build file or filelist it came from
    recipe: Recipe | None = None


@dataclass
class BuildScan:
    info: BuildInfo
    roots: list[Root]
    defines: dict[str, str | None]  # union, for preprocessing every file
    incdirs: list[str]  # union, for include resolution
    diagnostics: list[tuple[str, int, str]]
    index: PathIndex


class PathIndex:
    """Repo-relative files and folders, for resolving paths a build file names."""

    def __init__(self, repo: Path, files: list[str]) -> None:
        self.repo = repo
        self.files = set(files)
        dirs: set[str] = {"."}
        for f in files:
            d = posixpath.dirname(f)
            while d and d not in dirs:
                dirs.add(d)
                d = posixpath.dirname(d)
        self.dirs = dirs
        self._by_name: dict[str, list[str]] = {}
        for f in list(files) + sorted(dirs):
            self._by_name.setdefault(posixpath.basename(f), []).append(f)

    def _norm(self, base: str, rel: str) -> str | None:
        joined = posixpath.normpath(posixpath.join(base, rel)) if base not in ("", ".") else posixpath.normpath(rel)
        if joined.startswith("../") or joined == "..":
            return None
        return joined

    def resolve(self, token: str, bases: list[str], *, want_dir: bool = False) -> str | None:
        """A repo-relative path for ``token`` (relative to one of ``bases``), or None."""
        pool = self.dirs if want_dir else self.files
        token = token.strip().strip('"').strip("'")
        if not token:
            return None
        has_var = "$" in token
        if not has_var and not os.path.isabs(token):
            for b in bases:
                cand = self._norm(b, token)
                if cand is not None and cand in pool:
                    return cand
        if os.path.isabs(token) and not has_var:
            try:
                rel = Path(token).resolve().relative_to(self.repo.resolve()).as_posix()
                if rel in pool:
                    return rel
            except ValueError:
                pass
        # $VAR/rest, absolute paths elsewhere, or wrong bases: match the path's tail in the repo
        parts = [p for p in _VAR_REF.sub("", token).replace("\\", "/").split("/") if p not in ("", ".")]
        while parts and parts[0] == "..":
            parts.pop(0)
        if not parts:
            return None
        cands = [c for c in self._by_name.get(parts[-1], []) if c in pool]
        if not cands:
            return None
        # the longest matching tail wins; among equals, the one nearest the naming file
        for n in range(len(parts), 0, -1):
            tail = "/".join(parts[-n:])
            hits = [c for c in cands if c == tail or c.endswith("/" + tail)]
            if hits:
                return _nearest(hits, bases)
        return None


    def glob(self, token: str, bases: list[str]) -> list[str]:
        """The repo files a shell pattern names (``tb/interfaces/*.sv``, as TCL/shell scripts write them),
        segment by segment (``*`` never crosses a ``/``), sorted; relative to one of ``bases``, else the
        longest tail of the pattern that matches (``repo/tb/interfaces/*.sv`` run from a parent folder)."""
        token = token.strip().strip('"').strip("'")
        if not token or "$" in token:
            return []

        def match(path: str, pat: list[str]) -> bool:
            segs = path.split("/")
            return len(segs) == len(pat) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(segs, pat, strict=True))

        if not os.path.isabs(token):
            for b in bases:
                joined = self._norm(b, token)
                if joined is None:
                    continue
                pat = joined.split("/")
                hits = sorted(f for f in self.files if match(f, pat))
                if hits:
                    return hits
        parts = [q for q in token.replace("\\", "/").split("/") if q not in ("", ".")]
        while parts and parts[0] == "..":
            parts.pop(0)
        for n in range(len(parts), 1, -1):
            tail = parts[-n:]
            hits = sorted(f for f in self.files if match("/".join(f.split("/")[-n:]), tail) and f.count("/") >= n - 1)
            if hits:
                return hits
        return []


def _nearest(cands: list[str], bases: list[str]) -> str:
    base = bases[0] if bases else "."

    def score(c: str) -> tuple[int, int, str]:
        common = os.path.commonpath([c, base]) if base not in (".", "") else ""
        return (-len(common.split("/")) if common else 0, c.count("/"), c)

    return sorted(cands, key=score)[0]


def expand_vars(text: str, env: dict[str, str], depth: int = 0) -> str:
    if depth > 8 or "$" not in text:
        return text

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        return env[name] if name in env else m.group(0)

    out = _VAR_REF.sub(sub, text)
    return out if out == text else expand_vars(out, env, depth + 1)


def _logical_lines(text: str, comment: str | None) -> list[tuple[int, str, bool]]:
    """(line number, text, starts with tab) with backslash continuations joined and comments cut."""
    out: list[tuple[int, str, bool]] = []
    buf = ""
    start = 0
    tab = False
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw
        if comment:
            line = _cut_comment(line, comment)
        if not buf:
            start = i
            tab = raw.startswith("\t")
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        buf += line
        out.append((start, buf, tab))
        buf = ""
    if buf:
        out.append((start, buf, tab))
    return out


def _cut_comment(line: str, comment: str) -> str:
    for marker in comment.split("|"):
        idx = line.find(marker)
        if idx >= 0:
            line = line[:idx]
    return line


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


@dataclass
class _Acc:
    filelists: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    incdirs: list[str] = field(default_factory=list)
    defines: dict[str, str | None] = field(default_factory=dict)
    tops: list[str] = field(default_factory=list)
    test_select: str | None = None
    sims: set[str] = field(default_factory=set)
    timescale: str | None = None
    plusargs: list[str] = field(default_factory=list)  # run-time plusargs (not tool options)
    test_name: str | None = None  # a literal +UVM_TESTNAME=<name>


#: compilers that add to one library a later elaboration reads: a script's consecutive calls are one unit
INCREMENTAL_COMPILERS = frozenset({"vlog", "vlogan", "xvlog", "ncvlog", "xmvlog"})


def _merge(into: _Acc, acc: _Acc) -> None:
    into.filelists += [f for f in acc.filelists if f not in into.filelists]
    into.sources += [f for f in acc.sources if f not in into.sources]
    into.incdirs += [d for d in acc.incdirs if d not in into.incdirs]
    into.defines.update(acc.defines)
    into.tops += [t for t in acc.tops if t not in into.tops]
    into.plusargs += [p for p in acc.plusargs if p not in into.plusargs]
    into.sims |= acc.sims
    into.timescale = into.timescale or acc.timescale


#: ``+word`` options of simulators that are no plusarg of the design
_TOOL_PLUS = (
    "+incdir+", "+define+", "+acc", "+cover", "+fcover", "+libext+", "+vcs", "+lint", "+v2k", "+systemverilogext",
    "+notimingcheck", "+nospecify", "+neg_tchk", "+plusarg", "+sv", "+vpi", "+access", "+fsdb", "+warn", "+error",
    "+nowarn", "+verilog", "+timescale", "+delay_mode", "+no_notifier", "+transport", "+pulse", "+vcsd", "+memcbk",
    "+udpsched", "+rad", "+optconfig", "+nocheck", "+ntb", "+uvm_pkg", "+floatparameters", "+initreg",
    "+verilator+", "+UVM_TESTNAME=",
)
_TOOL_PLUS_EXACT = frozenset({"+vcd", "+r", "+rw", "+rwc", "+w", "+wc", "+c", "+plusarg_ignore"})  # fmt: skip


#: options whose next word is their value (which may start with '+')
_VALUE_OPTIONS = frozenset({
    "-access", "-input", "-covtest", "-covworkdir", "-covscope", "-l", "-log", "-xmlibdirname",
    "-sv_seed", "-svseed", "-seed", "-do", "-voptargs", "-debug_access", "-cm", "-cm_dir",
})  # fmt: skip


def is_plusarg(tok: str) -> bool:
    if not tok.startswith("+") or len(tok) < 2 or tok.lower() in _TOOL_PLUS_EXACT:
        return False
    return not tok.lower().startswith(tuple(t.lower() for t in _TOOL_PLUS))


class Scanner:
    def __init__(self, repo: Path, files: list[str]) -> None:
        self.repo = repo
        self.index = PathIndex(repo, files)
        self.diagnostics: list[tuple[str, int, str]] = []
        self.referenced_filelists: set[str] = set()
        self.shadow: Path | None = None  # the scratch copy make -n runs in (makedry.shadow_copy)

    # ---------------------------------------------------------------- filelists
    def read_filelist(self, rel: str, cwd: str, acc: _Acc, env: dict[str, str], stack: tuple[str, ...]) -> None:
        if rel in stack:
            self.diagnostics.append((rel, 0, "filelist includes itself (loop ignored)"))
            return
        acc.filelists.append(rel)
        here = posixpath.dirname(rel) or "."
        text = read_text(self.repo / rel)
        for lineno, line, _tab in _logical_lines(text, "//|#"):
            tokens = expand_vars(line, env).split()
            self.tokens(tokens, rel, lineno, [here, cwd, "."], cwd, acc, env, (*stack, rel))

    # ---------------------------------------------------------------- command tokens
    def tokens(
        self,
        tokens: list[str],
        origin: str,
        lineno: int,
        bases: list[str],
        cwd: str,
        acc: _Acc,
        env: dict[str, str],
        stack: tuple[str, ...],
    ) -> None:
        i = 0
        while i < len(tokens):
            tok = tokens[i].strip("'\"")
            low = tok.lower()
            nxt = tokens[i + 1].strip("'\"") if i + 1 < len(tokens) else None
            base_word = posixpath.basename(tok)
            if base_word in SIMULATORS:
                acc.sims.add(SIMULATORS[base_word])
            if low in ("-f", "-file", "-filelist", "-F", "--file") or tok in ("-f", "-F"):
                if nxt is not None:
                    i += 1
                    self._filelist_arg(nxt, tok, origin, lineno, bases, cwd, acc, env, stack)
            elif tok.startswith(("-f=", "-F=")):
                self._filelist_arg(tok[3:], tok[:2], origin, lineno, bases, cwd, acc, env, stack)
            elif low.startswith("+incdir+"):
                for d in tok[len("+incdir+") :].split("+"):
                    self._incdir(d, origin, lineno, bases, acc)
            elif tok in ("-incdir", "-I", "--incdir") and nxt is not None:
                i += 1
                self._incdir(nxt, origin, lineno, bases, acc)
            elif tok.startswith("-I") and len(tok) > 2:
                self._incdir(tok[2:], origin, lineno, bases, acc)
            elif low.startswith("+define+"):
                for d in tok[len("+define+") :].split("+"):
                    self._define(d, acc)
            elif tok in ("-define", "-D", "--define") and nxt is not None:
                i += 1
                self._define(nxt, acc)
            elif tok.startswith("-D") and len(tok) > 2:
                self._define(tok[2:], acc)
            elif low.startswith("+uvm_testname="):
                acc.test_select = tok
                value = tok.split("=", 1)[1]
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
                    acc.test_name = value
            elif low in ("-timescale", "--timescale") and nxt is not None:
                i += 1
                acc.timescale = nxt.strip("'\"")
            elif low.startswith(("-timescale=", "--timescale=", "-timescale+")):
                acc.timescale = tok[tok.index("scale") + 6 :].strip("'\"")
            elif is_plusarg(tok) and "$" not in tok:
                if tok not in acc.plusargs:
                    acc.plusargs.append(tok)
            elif re.fullmatch(r"work\.[A-Za-z_][A-Za-z0-9_$]*", tok) and tok not in acc.tops:
                acc.tops.append(tok.split(".", 1)[1])  # vsim/vopt work.<top>
            elif tok in ("-top", "--top-module", "--top", "-toplevel") and nxt is not None:
                i += 1
                top = nxt.strip("'\"").split(".")[-1]  # xrun -top work.HvlTop
                if top not in acc.tops:
                    acc.tops.append(top)
            elif tok.startswith(("-top=", "--top-module=", "--top=")):
                acc.tops.append(tok.split("=", 1)[1].split(".")[-1])
            elif low in _VALUE_OPTIONS and nxt is not None:
                i += 1  # its value (``-access +rwc``) is no plusarg
            elif low.endswith((*SOURCE_EXTS, ".svh", ".vh")) and not tok.startswith(("-", "+")):
                if is_uvm_library_path(tok):
                    pass
                elif any(c in tok for c in "*?[") and "$" not in tok:
                    hits = self.index.glob(tok, bases)
                    acc.sources += [h for h in hits if h not in acc.sources]
                    if not hits:
                        self.diagnostics.append((origin, lineno, f"no file matches: {tok}"))
                else:
                    found = self.index.resolve(tok, bases)
                    if found:
                        if found not in acc.sources:
                            acc.sources.append(found)
                    elif "$" not in tok and not os.path.isabs(tok):
                        self.diagnostics.append((origin, lineno, f"source not found: {tok}"))
            i += 1

    def _filelist_arg(
        self,
        tok: str,
        flag: str,
        origin: str,
        lineno: int,
        bases: list[str],
        cwd: str,
        acc: _Acc,
        env: dict[str, str],
        stack: tuple[str, ...],
    ) -> None:
        if is_uvm_library_path(tok):
            return
        order = bases if flag == "-F" else [cwd, *bases]
        found = self.index.resolve(tok, order)
        if found is None:
            if os.path.isabs(tok):
                return
            self.diagnostics.append((origin, lineno, f"filelist not found: {tok}"))
            return
        self.referenced_filelists.add(found)
        self.read_filelist(found, cwd, acc, env, stack)

    def _incdir(self, tok: str, origin: str, lineno: int, bases: list[str], acc: _Acc) -> None:
        if not tok or is_uvm_library_path(tok):
            return
        found = self.index.resolve(tok, bases, want_dir=True)
        if found is None:
            if "$" not in tok and not os.path.isabs(tok):
                self.diagnostics.append((origin, lineno, f"include folder not found: {tok}"))
            return
        if found not in acc.incdirs:
            acc.incdirs.append(found)

    @staticmethod
    def _define(tok: str, acc: _Acc) -> None:
        if not tok:
            return
        name, eq, value = tok.partition("=")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            acc.defines[name] = value if eq else None

    # ---------------------------------------------------------------- build files
    def scan_script(self, rel: str, kind: str) -> tuple[list[_Acc], _Acc]:
        """Roots of one Makefile or script, and what it says about simulators / test selection."""
        text = read_text(self.repo / rel)
        here = posixpath.dirname(rel) or "."
        env: dict[str, str] = {}
        comment = "#" if kind in ("make", "sh", "py", "tcl", "pl") else ("rem |::" if kind == "bat" else "#")
        lines = _logical_lines(text, comment)
        assign = _MAKE_ASSIGN if kind == "make" else _SH_ASSIGN
        cmd_lines: list[tuple[int, str]] = []
        for lineno, line, tab in lines:
            m = assign.match(line) if not (kind == "make" and tab) else None
            if m and not line.lstrip().startswith(("-", "+")):
                name = m.group(1) or m.group(3)
                value = (m.group(2) if m.group(1) else m.group(4)) or ""
                if kind == "make":
                    op, value = m.group(2), m.group(3)
                    if op == "+=":
                        env[name] = (env.get(name, "") + " " + value).strip()
                    elif op == "?=":
                        env.setdefault(name, value.strip())
                    else:
                        env[name] = value.strip()
                else:
                    env.setdefault(name, value.strip().strip("'\""))
                continue
            cmd_lines.append((lineno, line))
        meta = _Acc()
        roots: list[_Acc] = []
        library: _Acc | None = None  # the unit the script's incremental compiles (vlog ...) add to
        for lineno, line in cmd_lines:
            # a variable left unexpanded stays one word ($(X)/a.f -> ${X}/a.f), not "$", "X", "/a.f"
            text = _UNEXPANDED.sub(r"${\1}", expand_vars(line, env))
            words = [w for w in re.split(r"[\s;|&()\[\],]+", text) if w]
            acc = _Acc()
            self.tokens(words, rel, lineno, [here, "."], here, acc, env, ())
            meta.sims |= acc.sims
            if acc.test_select and not meta.test_select:
                raw = re.search(r"\+UVM_TESTNAME=([^\s\"']+)", line, re.IGNORECASE)
                meta.test_select = raw.group(0) if raw else acc.test_select
            if not (acc.sources or acc.filelists):
                continue
            incremental = bool(words) and posixpath.basename(words[0]) in INCREMENTAL_COMPILERS
            if incremental and library is not None:
                _merge(library, acc)  # `vlog a.sv` then `vlog top.sv`: one library, one elaboration
                continue
            roots.append(acc)
            library = acc if incremental else None
        # simulators chosen through variables (SIM ?= xrun) show up in the assignments
        for value in env.values():
            for w in value.split():
                if posixpath.basename(w) in SIMULATORS:
                    meta.sims.add(SIMULATORS[posixpath.basename(w)])
        return roots, meta

    def scan_make_dry(self, rel: str) -> list[tuple[str, _Acc, Recipe]]:
        """Roots of one Makefile as ``make -n`` prints them: [(run folder, what it compiles, recipe)].

        Empty when make is missing or no target printed a simulator command naming sources (the static
        scan is then used). A target that runs one named test (``+UVM_TESTNAME=<name>``) contributes its
        extra defines and plusargs to that test only.
        """
        from dvsmith.analysis import makedry

        if makedry.make_program() is None:
            return []
        if self.shadow is None:
            self.shadow = makedry.shadow_copy(self.repo)
        text = read_text(self.repo / rel)
        per_target: list[tuple[str, list[tuple[makedry.DryCommand, _Acc]]]] = []
        seen_outputs: set[tuple[str, ...]] = set()
        for target in makedry.pick_targets(text):
            run = makedry.dry_run(self.shadow, rel, target)
            if not run.ok and not run.commands:
                continue
            key = tuple(c.cwd + "\0" + c.text for c in run.commands)
            if not key or key in seen_outputs:
                continue
            seen_outputs.add(key)
            accs: list[tuple[makedry.DryCommand, _Acc]] = []
            for c in run.commands:
                acc = _Acc()
                if c.cwd:
                    self.tokens(c.words[1:], rel, 0, [c.cwd, "."], c.cwd, acc, {}, ())
                acc.sims.add(SIMULATORS.get(posixpath.basename(c.words[0]), c.words[0]))
                accs.append((c, acc))
            per_target.append((target or "(default)", accs))
        # compile commands grouped by what they read
        groups: dict[tuple, list[tuple[str, makedry.DryCommand, _Acc]]] = {}
        for target, accs in per_target:
            for c, acc in accs:
                if acc.sources or acc.filelists:
                    groups.setdefault((c.cwd, tuple(acc.filelists), tuple(acc.sources)), []).append((target, c, acc))
        out: list[tuple[str, _Acc, Recipe]] = []
        # tops named by run commands (vsim work.hvl_top work.hdl_top) of targets that compile nothing
        run_tops: list[str] = []
        for _target, accs in per_target:
            for _c, a in accs:
                if not (a.sources or a.filelists):
                    run_tops += [t for t in a.tops if t not in run_tops]
        for (cwd, _fl, _src), members in groups.items():
            targets = {t for t, _, _ in members}
            if len(groups) == 1:  # one testbench: every target's run commands are its own (make simulate)
                targets = {t for t, _ in per_target}
            test_of: dict[str, str | None] = {}
            for target, accs in per_target:
                if target in targets:
                    names = [a.test_name for _, a in accs if a.test_name]
                    test_of[target] = names[0] if len(set(names)) == 1 else None
            # the flow's generic targets (run, sim, all, ...) with their default TEST are the common recipe;
            # a target of its own that runs one test (``make boot_test``) is that test's
            named = [n for n in test_of.values() if n]
            for target, name in list(test_of.items()):
                if name and (_GENERIC_TARGET.fullmatch(target) or named.count(name) > 1):
                    test_of[target] = None
            base = [a for t, _, a in members if test_of.get(t) is None] or [a for _, _, a in members]
            common = dict(base[0].defines)
            for a in base[1:]:
                common = {k: v for k, v in common.items() if k in a.defines and a.defines[k] == v}
            first_t, first_c, first = members[0]
            root = _Acc(
                filelists=list(first.filelists), sources=list(first.sources), defines=common, sims=set(first.sims)
            )
            recipe = Recipe(origin=f"{rel}:{first_t}", source="make-dry-run", tool=first_c.words[0], run_dir=cwd)
            base_targets = [t for t, _ in per_target if t in targets and test_of.get(t) is None]
            for target, accs in per_target:
                if target not in targets:
                    continue
                for c, a in accs:
                    for d in a.incdirs:
                        if d not in root.incdirs:
                            root.incdirs.append(d)
                    root.tops += [t for t in a.tops if t not in root.tops]
                    if c.text not in recipe.commands and len(recipe.commands) < 12:
                        recipe.commands.append(c.text)
                    recipe.timescale = recipe.timescale or a.timescale
                test = test_of.get(target)
                run_plus = [p for _, a in accs for p in a.plusargs]
                if test is None:
                    if not recipe.plusargs and target in base_targets:
                        recipe.plusargs = list(dict.fromkeys(run_plus))
                    continue
                compile_defs = next((a.defines for t, _, a in members if t == target), {})
                extra = {k: v for k, v in compile_defs.items() if common.get(k, "\0") != v}
                if extra:
                    recipe.test_defines[test] = extra
                plus = [p for p in dict.fromkeys(run_plus) if p not in recipe.plusargs]
                if plus:
                    recipe.test_plusargs[test] = plus
            if not root.tops:
                root.tops = list(run_tops)
            root.timescale = recipe.timescale
            out.append((cwd, root, recipe))
        return out

    def scan_core(self, rel: str) -> _Acc | None:
        """FuseSoC .core (YAML): files of the filesets, include files' folders as incdirs, toplevel."""
        text = read_text(self.repo / rel)
        here = posixpath.dirname(rel) or "."
        acc = _Acc()
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].rstrip()
            s = line.strip()
            if s.startswith("toplevel:"):
                top = s.split(":", 1)[1].strip().strip("'\"[]")
                if top:
                    acc.tops.extend(t.strip() for t in top.split(",") if t.strip())
                continue
            if not s.startswith("- "):
                continue
            item = s[2:].strip()
            name = item.split(":", 1)[0].strip().strip("'\"")
            if not name.lower().endswith(SV_EXTS):
                continue
            found = self.index.resolve(name, [here, "."])
            if found is None:
                self.diagnostics.append((rel, lineno, f"source not found: {name}"))
                continue
            if "is_include_file" in item and "true" in item.split("is_include_file", 1)[1][:12]:
                d = posixpath.dirname(found) or "."
                if d not in acc.incdirs:
                    acc.incdirs.append(d)
            elif found not in acc.sources and found.lower().endswith(SOURCE_EXTS):
                acc.sources.append(found)
            elif found.lower().endswith((".svh", ".vh")):
                d = posixpath.dirname(found) or "."
                if d not in acc.incdirs:
                    acc.incdirs.append(d)
        return acc if acc.sources else None


def classify_build_file(rel: str) -> str | None:
    """make | sh | py | bat | tcl | pl | core | filelist, or None for other files."""
    base = posixpath.basename(rel).lower()
    if base in MAKE_NAMES or base.endswith(MAKE_EXTS):
        return "make"
    if base.endswith(".core"):
        return "core"
    if base.endswith(FILELIST_EXTS):
        return "filelist"
    ext = posixpath.splitext(base)[1]
    return {
        ".sh": "sh",
        ".bash": "sh",
        ".csh": "sh",
        ".py": "py",
        ".bat": "bat",
        ".do": "tcl",
        ".tcl": "tcl",
        ".pl": "pl",
    }.get(ext)


def scan_build(repo: Path, files: list[str]) -> BuildScan:
    """Detect the build system and the roots (testbenches) it compiles."""
    scanner = Scanner(repo, files)
    by_kind: dict[str, list[str]] = {}
    for f in files:
        k = classify_build_file(f)
        if k:
            by_kind.setdefault(k, []).append(f)
    makefiles = sorted(by_kind.get("make", []))
    scripts = sorted(f for k in ("sh", "py", "bat", "tcl", "pl") for f in by_kind.get(k, []))
    cores = sorted(by_kind.get("core", []))
    all_filelists = sorted(by_kind.get("filelist", []))

    roots: list[tuple[str, str, _Acc]] = []  # (origin, cwd, acc)
    sims: set[str] = set()
    test_select: str | None = None
    used_makefiles: list[str] = []
    used_scripts: list[str] = []
    recipes: dict[int, Recipe] = {}  # id(acc) -> the recipe it came with
    try:
        for rel in makefiles:
            n0 = len(scanner.diagnostics)
            found, meta = scanner.scan_script(rel, "make")
            n1 = len(scanner.diagnostics)
            sims |= meta.sims
            test_select = test_select or meta.test_select
            dry = scanner.scan_make_dry(rel) if found or meta.sims else []
            if dry:  # make's own answer replaces the line-by-line reading, and its guesses
                del scanner.diagnostics[n0:n1]
            if found or meta.sims or meta.test_select or dry:
                used_makefiles.append(rel)
            if dry:
                for cwd, acc, recipe in dry:
                    sims |= acc.sims
                    recipes[id(acc)] = recipe
                    roots.append((rel, cwd, acc))
            else:
                roots += [(rel, posixpath.dirname(rel) or ".", a) for a in found]
    finally:
        if scanner.shadow is not None:
            shutil.rmtree(scanner.shadow, ignore_errors=True)
    for rel in scripts:
        kind = classify_build_file(rel) or "sh"
        found, meta = scanner.scan_script(rel, kind)
        sims |= meta.sims
        test_select = test_select or meta.test_select
        if found or meta.sims or meta.test_select:
            used_scripts.append(rel)
        roots += [(rel, posixpath.dirname(rel) or ".", a) for a in found]
    core_roots = []
    for rel in cores:
        acc = scanner.scan_core(rel)
        if acc is not None:
            core_roots.append((rel, posixpath.dirname(rel) or ".", acc))
    roots += core_roots
    # filelists nobody's build line reads: the top ones (not nested in another) are roots of their own
    if not roots:
        nested: set[str] = set()
        for rel in all_filelists:
            acc = _Acc()
            scanner.read_filelist(rel, posixpath.dirname(rel) or ".", acc, {}, ())
            nested |= set(acc.filelists[1:])
        for rel in all_filelists:
            if rel in nested:
                continue
            acc = _Acc()
            scanner.read_filelist(rel, posixpath.dirname(rel) or ".", acc, {}, ())
            if acc.sources:
                roots.append((rel, posixpath.dirname(rel) or ".", acc))

    # one root per distinct compile (several simulators' lines reading the same files are one)
    merged: dict[tuple, tuple[str, str, _Acc]] = {}
    for origin, cwd, acc in roots:
        key = (tuple(acc.filelists), tuple(acc.sources))
        if key not in merged:
            merged[key] = (origin, cwd, acc)
        else:
            m = merged[key][2]
            for d in acc.incdirs:
                if d not in m.incdirs:
                    m.incdirs.append(d)
            for k, v in acc.defines.items():
                m.defines.setdefault(k, v)
            m.tops += [t for t in acc.tops if t not in m.tops]
    out_roots: list[Root] = []
    names: set[str] = set()
    for origin, cwd, acc in merged.values():
        if acc.filelists:
            base = posixpath.splitext(posixpath.basename(acc.filelists[0]))[0]
        else:
            base = posixpath.basename(cwd) if cwd != "." else posixpath.splitext(posixpath.basename(origin))[0]
        name = base or "tb"
        if name in names:
            parent = posixpath.basename(posixpath.dirname(acc.filelists[0] if acc.filelists else origin))
            name = f"{parent}_{base}" if parent else base
        n, i = name, 2
        while n in names:
            n, i = f"{name}_{i}", i + 1
        names.add(n)
        out_roots.append(
            Root(
                name=n,
                root=cwd,
                filelists=acc.filelists,
                sources=acc.sources,
                incdirs=acc.incdirs,
                defines=acc.defines,
                tops=acc.tops,
                origin=origin,
                recipe=recipes.get(id(acc))
                or Recipe(
                    origin=origin,
                    source="filelist" if origin.endswith(FILELIST_EXTS) else "static",
                    run_dir=cwd,
                    timescale=acc.timescale,
                    plusargs=list(acc.plusargs),
                ),
            )
        )

    if used_makefiles:
        kind = "makefile"
    elif core_roots:
        kind = "fusesoc"
    elif used_scripts:
        kind = "script"
    elif all_filelists:
        kind = "filelist"
    else:
        kind = "none"
    filelists_used = sorted({f for r in out_roots for f in r.filelists} | scanner.referenced_filelists)
    if not filelists_used:
        filelists_used = all_filelists
    test_var = None
    if test_select:
        m = re.search(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]|\$([A-Za-z_][A-Za-z0-9_]*)", test_select)
        if m:
            test_var = m.group(1) or m.group(2)
    info = BuildInfo(
        kind=kind,  # type: ignore[arg-type]
        files=used_makefiles + [c for c, _, _ in core_roots] + used_scripts,
        filelists=filelists_used,
        simulators=sorted(sims),
        test_select="+UVM_TESTNAME",
        test_var=test_var,
    )
    defines: dict[str, str | None] = {}
    incdirs: list[str] = []
    for r in out_roots:
        for k, v in r.defines.items():
            defines.setdefault(k, v)
        incdirs += [d for d in r.incdirs if d not in incdirs]
    return BuildScan(
        info=info,
        roots=out_roots,
        defines=defines,
        incdirs=incdirs,
        diagnostics=scanner.diagnostics,
        index=scanner.index,
    )
