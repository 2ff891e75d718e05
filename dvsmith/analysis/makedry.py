"""The repo's own recipe, asked of its own build: ``make -n`` and the simulator commands it prints.

dvsmith does not re-implement make. For each Makefile it runs ``make -n -w -C <dir> <target>`` (dry run:
make prints the commands and runs none, except ``$(shell ...)`` in variable values and the recursive
``$(MAKE)`` lines, which it runs with ``-n`` too) with a sanitized environment (``PATH``, ``HOME`` and the
variables a user sets: ``UVM_HOME``, ``UVM_ROOT``, simulator names), a timeout and no standard input.
Nothing else from the repo is ever executed, and make runs in a scratch copy of the repository (files
up to 4 MB, hidden folders left out), so a ``$(shell ... > file)`` cannot write into the repository itself.

The printed lines are split into shell commands (``&&``, ``;``, ``|``); ``cd X`` and make's
``Entering directory`` lines move the working directory; ``echo``/``printf`` commands are skipped (their
text is no compile unit). A command whose first word is a simulator (xrun/irun, vcs, vlog/vsim/qrun,
verilator, dsim, ...) is returned with the folder it runs in.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dvsmith.analysis.buildsys import SIMULATORS

#: what a user has set when they run the repo's flow (values are fake paths: nothing is read from them)
FAKE_UVM_HOME = "/dvsmith/uvm_home"
USER_VARS = {
    "UVM_HOME": FAKE_UVM_HOME,
    "UVM_ROOT": FAKE_UVM_HOME,
    "UVM_DIR": FAKE_UVM_HOME,
    "UVM_VERSION": "1.2",
    # a simulator user's shell has its install folder set; flows check it before compiling (``ifdef VCS_HOME``)
    "VCS_HOME": "/dvsmith/vcs_home",
    "QUESTA_HOME": "/dvsmith/questa_home",
    "MTI_HOME": "/dvsmith/questa_home",
    "XCELIUM_HOME": "/dvsmith/xcelium_home",
}
#: the UVM variables; a flow that branches on them (``ifndef UVM_HOME``) is also asked without them
UVM_VARS = ("UVM_HOME", "UVM_ROOT", "UVM_DIR")
_UVM_HOME_BRANCH = re.compile(r"^\s*(?:ifdef|ifndef)\s+(?:UVM_HOME|UVM_ROOT|UVM_DIR)\s*$", re.M)
DRY_RUN_TIMEOUT_S = 10.0
MAX_TARGETS = 24
#: target names worth asking for (plus the default goal and targets naming a known test)
_TARGET_WORDS = re.compile(r"(comp|build|elab|run|sim|all|test|regr|vlog|vcs|xrun|qrun|verilat|dsim)", re.I)
_RULE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-/ ]*?)\s*::?(?![=])(.*)$")
_DIR_LINE = re.compile(r"^\S*make(?:\[\d+\])?: (Entering|Leaving) directory ['`\"](.*)['\"]\s*$")
_SKIP_WORDS = {"echo", "printf", "@echo", "true", ":", "mkdir", "rm", "cp", "mv", "ln", "touch", "tee", "cat", "test",
               "vlib", "vmap", "vdel"}  # fmt: skip
#: a built simulation binary run by the flow (VCS's ``./simv``, Verilator's ``obj_dir/Vtb_top``): a run command
_BUILT_BINARY = re.compile(r"(?:.*/)?simv|(?:.*/)?obj_dir/V[A-Za-z0-9_]+")


@dataclass
class DryCommand:
    """One simulator command a dry run printed (a compile, or a run of the tool or of the binary it built)."""

    words: list[str]
    cwd: str  # repo-relative folder it runs in ("" when outside the repo)
    text: str  # the command as printed (one shell command, no cd prefix)
    target: str = ""


@dataclass
class DryRun:
    makefile: str
    target: str
    commands: list[DryCommand] = field(default_factory=list)
    ok: bool = True
    error: str = ""


SHADOW_MAX_FILE_BYTES = 4 * 1024 * 1024


def shadow_copy(repo: Path) -> Path:
    """A scratch copy of ``repo`` for make to run in (the caller removes it)."""
    dst = Path(tempfile.mkdtemp(prefix="dvsmith-make-"))
    root = repo.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = Path(dirpath).relative_to(root)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            src = Path(dirpath) / name
            try:
                if src.is_symlink() or not src.is_file() or src.stat().st_size > SHADOW_MAX_FILE_BYTES:
                    continue
                shutil.copyfile(src, dst / rel / name)
            except OSError:
                continue
    return dst


def make_program() -> str | None:
    return shutil.which("make") or shutil.which("gmake")


def sanitized_env(extra: dict[str, str] | None = None, *, unset: tuple[str, ...] = ()) -> dict[str, str]:
    """PATH/HOME/locale only, plus the variables a user of the flow sets (no secrets from ours), less
    ``unset``."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
    env["HOME"] = "/nonexistent"
    env.update(USER_VARS)
    env.update(extra or {})
    for name in unset:
        env.pop(name, None)
    return env


def branches_on_uvm_home(text: str) -> bool:
    """Whether a Makefile picks its UVM by whether ``UVM_HOME`` is set (``ifndef UVM_HOME`` -> the
    simulator's bundled UVM, e.g. VCS's ``-ntb_opts uvm-1.2``; else the user's tree)."""
    return bool(_UVM_HOME_BRANCH.search(text))


def rule_targets(text: str) -> list[str]:
    """Explicit target names of a Makefile, in order (no pattern rules, specials or variables)."""
    out: list[str] = []
    for raw in text.splitlines():
        if not raw or raw[0] in " \t#":
            continue
        m = _RULE.match(raw)
        if not m or "=" in m.group(1):
            continue
        for name in m.group(1).split():
            if name.startswith(".") or "%" in name or "$" in name or name in out:
                continue
            out.append(name)
    return out


def pick_targets(text: str, tests: set[str] | None = None) -> list[str]:
    """The default goal ("") and targets that compile/run something or name a test."""
    names = rule_targets(text)
    tests = tests or set()
    picked = [""]
    for n in names:
        low = n.lower()
        if low.startswith(("clean", "help", "usage", "wave", "view", "gui", "cov", "report", "lint", "merge")):
            continue
        if _TARGET_WORDS.search(n) or n in tests:
            picked.append(n)
    return picked[: MAX_TARGETS + 1]


def dry_run(
    repo: Path, makefile_rel: str, target: str, *, timeout_s: float = DRY_RUN_TIMEOUT_S, unset: tuple[str, ...] = ()
) -> DryRun:
    """``make -n`` one target; its simulator commands with the folder each runs in. ``unset``: user
    variables left out of make's environment."""
    res = DryRun(makefile=makefile_rel, target=target)
    make = make_program()
    if make is None:
        res.ok, res.error = False, "make not found"
        return res
    folder = repo / (posixpath.dirname(makefile_rel) or ".")
    cmd = [make, "-n", "-w", "-k", "--no-builtin-rules", "-C", str(folder), "-f", posixpath.basename(makefile_rel)]
    if target:
        cmd.append(target)
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            env=sanitized_env(unset=unset),
            stdin=subprocess.DEVNULL,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        res.ok, res.error = False, f"make -n {target} timed out after {timeout_s:.0f} s"
        return res
    except OSError as exc:
        res.ok, res.error = False, f"make -n {target}: {exc.strerror}"
        return res
    if proc.returncode != 0 and not proc.stdout.strip():
        res.ok = False
        res.error = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:300]
    start = posixpath.dirname(makefile_rel) or "."
    res.commands = parse_dry_output(proc.stdout, repo, start, target)
    return res


def _rel(repo: Path, path: str, cwd: str) -> str:
    """Repo-relative form of a folder named in a dry run ("" when it is outside the repo)."""
    if os.path.isabs(path):
        try:
            return Path(os.path.normpath(path)).relative_to(repo.resolve()).as_posix() or "."
        except ValueError:
            try:
                return Path(os.path.normpath(path)).relative_to(repo).as_posix() or "."
            except ValueError:
                return ""
    if not cwd:
        return ""
    joined = posixpath.normpath(posixpath.join(cwd, path))
    return "" if joined.startswith("..") else joined


def split_commands(line: str) -> list[list[str]]:
    """Shell words of each command of one line (split at ``&&``, ``||``, ``;``, ``|``, ``&``)."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[list[str]] = [[]]
    try:
        for tok in lex:
            if tok and set(tok) <= set(";&|"):
                out.append([])
            else:
                out[-1].append(tok)
    except ValueError:  # unbalanced quotes: fall back to plain words
        out = [[w for w in re.split(r"\s+", line) if w]]
    return [c for c in out if c]


def parse_dry_output(text: str, repo: Path, start: str, target: str = "") -> list[DryCommand]:
    """Simulator commands of ``make -n -w`` output, each with its working directory."""
    dirs: list[str] = [start]
    out: list[DryCommand] = []
    lines: list[str] = []
    for raw in text.splitlines():  # make -n prints a recipe's backslash-newline continuations as they are
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.lstrip()
        else:
            lines.append(raw)
    for raw in lines:
        m = _DIR_LINE.match(raw.strip())
        if m:
            if m.group(1) == "Entering":
                dirs.append(_rel(repo, m.group(2), dirs[-1]))
            elif len(dirs) > 1:
                dirs.pop()
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cwd = dirs[-1]  # every recipe line runs in its own shell: a cd lasts to the end of the line
        for words in split_commands(line):
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):  # VAR=x cmd
                words = words[1:]
            while words and words[0] in ("exec", "time", "env", "nohup", "command"):
                words = words[1:]
            if not words:
                continue
            head = words[0].lstrip("@-+")
            if head == "cd":
                cwd = _rel(repo, words[1], cwd) if len(words) > 1 else cwd
                continue
            if head in _SKIP_WORDS:
                continue
            if posixpath.basename(head) in SIMULATORS or _BUILT_BINARY.fullmatch(head):
                out.append(DryCommand(words=[head, *words[1:]], cwd=cwd, text=shlex.join(words)[:4000], target=target))
    return out
