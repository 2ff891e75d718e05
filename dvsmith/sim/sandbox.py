"""Run a simulation as untrusted code: its own process group, nothing of it left alive, and where the
machine allows, a Linux namespace sandbox (issue 9, item 4).

* Every run starts in a new session (so a new process group). When the simulator exits, every process
  still in its group or session, or still carrying the run's token in its environment, is killed
  (SIGKILL) *before* the caller reads any output (log, coverage.dat): a background process started from
  the test cannot rewrite the results after the simulator is gone.
* ``bwrap`` (bubblewrap) or unprivileged ``unshare`` (user, mount, PID, network, IPC namespaces), when
  one works here (tried once per process, at the first run): the whole file system is read-only except
  the run folder, there is no network (a fresh network namespace holds only a loopback that is down), and
  the simulator is PID 1 of its own PID namespace, so when it exits the kernel kills every process it
  left, including those that left the session (``setsid``) or cleared their environment.
* Without either (``mode == "none"``), only the process-group/session/token sweep protects the results:
  a process that both leaves the session and clears its environment survives the run, and the run can
  write wherever the user can. The mode used is recorded in each run's result.

``DVSMITH_SANDBOX`` = ``auto`` (default) | ``bwrap`` | ``unshare`` | ``none`` chooses the mode.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Literal

SandboxMode = Literal["bwrap", "unshare", "none"]
TOKEN_VAR = "DVSMITH_RUN_TOKEN"

# Runs inside the namespaces (as root of a fresh user namespace): bind the writable folders onto
# themselves, remount every other mount read-only, then become the simulator. Arguments:
#   N writable_1 .. writable_N -- command...
_UNSHARE_SCRIPT = r"""
n=$1; shift
rw=""
i=0
while [ "$i" -lt "$n" ]; do
  mount --bind "$1" "$1" || { echo "dvsmith sandbox: cannot bind $1" >&2; exit 125; }
  rw="$rw
$1"
  shift; i=$((i+1))
done
[ "$1" = "--" ] && shift
awk '{print $5}' /proc/self/mountinfo | sort -u | while IFS= read -r m; do
  m=$(printf '%b' "$m")
  case "$m" in /proc|/proc/*) continue;; esac
  printf '%s\n' "$rw" | grep -qxF -- "$m" && continue
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
if ( : > /.dvsmith-sandbox-probe ) 2>/dev/null; then
  rm -f /.dvsmith-sandbox-probe; echo "dvsmith sandbox: / stayed writable" >&2; exit 125
fi
exec "$@"
"""

_mode: SandboxMode | None = None


def _probe(cmd: list[str]) -> bool:
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def _bwrap_prefix(writable: list[Path]) -> list[str]:
    exe = shutil.which("bwrap") or "bwrap"
    cmd = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for w in writable:
        cmd += ["--bind", str(w), str(w)]
    return [*cmd, "--unshare-all", "--die-with-parent", "--"]


def _unshare_prefix(writable: list[Path]) -> list[str]:
    exe = shutil.which("unshare") or "unshare"
    return [
        exe, "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
        "--net", "--ipc", "--", "/bin/sh", "-c", _UNSHARE_SCRIPT, "dvsmith-sandbox",
        str(len(writable)), *(str(w) for w in writable), "--",
    ]  # fmt: skip


def detect_mode() -> SandboxMode:
    """The sandbox this machine allows (``DVSMITH_SANDBOX`` can force one), tried once per process."""
    global _mode
    want = os.environ.get("DVSMITH_SANDBOX", "auto").strip().lower()
    if want == "none":
        return "none"
    if _mode is not None and want == "auto":
        return _mode
    found: SandboxMode = "none"
    probe_dir = Path("/tmp")
    if want in ("auto", "bwrap") and shutil.which("bwrap") and _probe([*_bwrap_prefix([probe_dir]), "true"]):
        found = "bwrap"
    elif want in ("auto", "unshare") and shutil.which("unshare") and _probe([*_unshare_prefix([probe_dir]), "true"]):
        found = "unshare"
    if want == "auto":
        _mode = found
    return found


def wrap(cmd: list[str], writable: list[Path], mode: SandboxMode) -> list[str]:
    """``cmd`` run inside the sandbox ``mode`` with only ``writable`` folders writable."""
    folders = [w.resolve() for w in writable]
    if mode == "bwrap":
        return [*_bwrap_prefix(folders), *cmd]
    if mode == "unshare":
        return [*_unshare_prefix(folders), *cmd]
    return list(cmd)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, session) of a live process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return fields[0], int(fields[2]), int(fields[3])


def _has_token(pid: int, token: str) -> bool:
    try:
        return f"{TOKEN_VAR}={token}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def leftovers(leader: int, token: str | None) -> list[int]:
    """Live processes (not zombies) in ``leader``'s group or session, or carrying ``token``."""
    me = os.getpid()
    found: list[int] = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == me:
            continue
        st = _stat(pid)
        if st is None or st[0] in ("Z", "X"):
            continue
        if st[1] == leader or st[2] == leader or (token is not None and _has_token(pid, token)):
            found.append(pid)
    return found


def sweep(leader: int, token: str | None, *, rounds: int = 5) -> int:
    """Kill every process the run left (group, session, token); returns how many were killed."""
    killed = 0
    for _ in range(rounds):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader, signal.SIGKILL)
        left = leftovers(leader, token)
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.01)
    return killed
