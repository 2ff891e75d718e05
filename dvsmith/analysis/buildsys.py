"""The repo's own build: Makefiles, run scripts, filelists, FuseSoC cores.

Build files are read line by line (they are not SystemVerilog): variable assignments are expanded,
then command-line tokens are scanned for filelists (``-f``/``-F``), sources, ``+incdir+``,
``+define+``, ``-top`` and ``+UVM_TESTNAME``. Each command line that names sources or filelists is a
*root*: one independently compiled testbench (several lines naming the same files are one root).
A run line naming one test literally (``./simv +UVM_TESTNAME=x +arg=1``) gives that test its plusargs.
``roots.scan_build`` puts the roots together (asking ``make -n`` first); this module only reads.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
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
GENERIC_TARGET = re.compile(
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


def static_tool(acc: BuildFacts) -> str | None:
    """The simulator a statically read build line runs: its command word when the lines name one simulator
    only (``vlog``/``vsim`` are both Questa), else None (unknown)."""
    return acc.tools[0] if len(acc.sims) == 1 and acc.tools else None


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


@dataclass
class BuildFacts:
    filelists: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    incdirs: list[str] = field(default_factory=list)
    defines: dict[str, str | None] = field(default_factory=dict)
    tops: list[str] = field(default_factory=list)
    test_select: str | None = None
    sims: set[str] = field(default_factory=set)
    tools: list[str] = field(default_factory=list)  # simulator command words, in the order they appear
    timescale: str | None = None
    plusargs: list[str] = field(default_factory=list)  # run-time plusargs (not tool options)
    test_name: str | None = None  # a literal +UVM_TESTNAME=<name>
    test_plusargs: dict[str, list[str]] = field(default_factory=dict)  # test -> plusargs its own run lines give
    sv_all: bool = False  # -sv / -sverilog: every source file is SystemVerilog
    sv_exts: list[str] = field(default_factory=list)  # +systemverilogext+.sv: only these extensions are


#: compilers that add to one library a later elaboration reads: a script's consecutive calls are one unit
INCREMENTAL_COMPILERS = frozenset({"vlog", "vlogan", "xvlog", "ncvlog", "xmvlog"})


def _merge(into: BuildFacts, acc: BuildFacts) -> None:
    into.filelists += [f for f in acc.filelists if f not in into.filelists]
    into.sources += [f for f in acc.sources if f not in into.sources]
    into.incdirs += [d for d in acc.incdirs if d not in into.incdirs]
    into.defines.update(acc.defines)
    into.tops += [t for t in acc.tops if t not in into.tops]
    into.plusargs += [p for p in acc.plusargs if p not in into.plusargs]
    into.sims |= acc.sims
    into.tools += [t for t in acc.tools if t not in into.tools]
    into.timescale = into.timescale or acc.timescale
    into.sv_all = into.sv_all or acc.sv_all
    into.sv_exts += [e for e in acc.sv_exts if e not in into.sv_exts]


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
    "-cflags", "-ldflags",  # C compiler flags (vcs/verilator -CFLAGS -DVCS): no +define+ of the design
})  # fmt: skip


def is_plusarg(tok: str) -> bool:
    if not tok.startswith("+") or len(tok) < 2 or tok.lower() in _TOOL_PLUS_EXACT:
        return False
    return not tok.lower().startswith(tuple(t.lower() for t in _TOOL_PLUS))


def run_plusargs(words: list[str]) -> list[str]:
    """The design's plusargs of one run command, in order (``-l x.log`` and the test selection are not)."""
    out: list[str] = []
    for w in (w.strip("'\"") for w in words):
        if is_plusarg(w) and "$" not in w and w not in out:
            out.append(w)
    return out


def per_test_plusargs(runs: list[tuple[str, list[str]]]) -> dict[str, list[str]]:
    """test -> the plusargs every one of its run lines gives it, from (test, plusargs) run lines.

    A flow that runs one test twice (plain, then with ``+uvm_set_severity=...``) shows a variant in the
    second run: only what all of a test's runs share is the test's own.
    """
    seen: dict[str, list[str]] = {}
    for test, plus in runs:
        seen[test] = list(plus) if test not in seen else [p for p in seen[test] if p in plus]
    return {t: p for t, p in seen.items() if p}


def verilog_exts(acc: BuildFacts) -> list[str]:
    """The extensions the flow compiles as Verilog-2001, not SystemVerilog: ``.v`` when its command names
    the SystemVerilog ones (VCS ``+systemverilogext+.sv``) without ``-sverilog`` (a port named ``int`` is
    legal there)."""
    if acc.sv_all or not acc.sv_exts or ".v" in acc.sv_exts:
        return []
    return [".v"]


class Scanner:
    def __init__(self, repo: Path, files: list[str]) -> None:
        self.repo = repo
        self.index = PathIndex(repo, files)
        self.diagnostics: list[tuple[str, int, str]] = []
        self.referenced_filelists: set[str] = set()
        self.shadow: Path | None = None  # the scratch copy make -n runs in (makedry.shadow_copy)

    # ---------------------------------------------------------------- filelists
    def read_filelist(self, rel: str, cwd: str, acc: BuildFacts, env: dict[str, str], stack: tuple[str, ...]) -> None:
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
        acc: BuildFacts,
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
                if base_word not in acc.tools:
                    acc.tools.append(base_word)
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
            elif low in ("-sv", "-sverilog", "-sysv", "--sv"):
                acc.sv_all = True
            elif low.startswith("+systemverilogext+"):
                acc.sv_exts += [e if e.startswith(".") else "." + e for e in tok.split("+")[2:] if e]
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
        acc: BuildFacts,
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

    def _incdir(self, tok: str, origin: str, lineno: int, bases: list[str], acc: BuildFacts) -> None:
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
    def _define(tok: str, acc: BuildFacts) -> None:
        if not tok:
            return
        name, eq, value = tok.partition("=")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            acc.defines[name] = value if eq else None

    # ---------------------------------------------------------------- build files
    def scan_script(self, rel: str, kind: str) -> tuple[list[BuildFacts], BuildFacts]:
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
        meta = BuildFacts()
        runs: list[tuple[str, list[str]]] = []
        roots: list[BuildFacts] = []
        library: BuildFacts | None = None  # the unit the script's incremental compiles (vlog ...) add to
        for lineno, line in cmd_lines:
            # a variable left unexpanded stays one word ($(X)/a.f -> ${X}/a.f), not "$", "X", "/a.f"
            text = _UNEXPANDED.sub(r"${\1}", expand_vars(line, env))
            words = [w for w in re.split(r"[\s;|&()\[\],]+", text) if w]
            acc = BuildFacts()
            self.tokens(words, rel, lineno, [here, "."], here, acc, env, ())
            meta.sims |= acc.sims
            if acc.test_select and not meta.test_select:
                raw = re.search(r"\+UVM_TESTNAME=([^\s\"']+)", line, re.IGNORECASE)
                meta.test_select = raw.group(0) if raw else acc.test_select
            literal = re.search(r"\+UVM_TESTNAME=([A-Za-z_][A-Za-z0-9_]*)(?=[\s\"';]|$)", line, re.IGNORECASE)
            if literal:  # a run line of one named test (not of $(TEST), whose plusargs are every test's)
                runs.append((literal.group(1), run_plusargs(re.split(r"[\s;|&]+", text))))
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
        meta.test_plusargs = per_test_plusargs(runs)
        for acc in roots:
            acc.test_plusargs = dict(meta.test_plusargs)
        return roots, meta

    def scan_core(self, rel: str) -> BuildFacts | None:
        """FuseSoC .core (YAML): files of the filesets, include files' folders as incdirs, toplevel."""
        text = read_text(self.repo / rel)
        here = posixpath.dirname(rel) or "."
        acc = BuildFacts()
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
