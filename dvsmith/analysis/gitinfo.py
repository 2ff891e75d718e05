"""What a repository's ``.git`` says: the commit checked out, the origin remote, whether tracked files
are modified. Plain data (the profile's ``GitInfo`` is built from it), so the warm-ingest shortcut can
compare it without loading the profile models."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def git_info(repo: Path) -> dict[str, object] | None:
    git = repo / ".git"
    if not git.exists():
        return None
    info: dict[str, object] = {"commit": None, "remote": None, "dirty": False}
    try:
        if git.is_file():  # worktree / submodule: "gitdir: path"
            target = git.read_text().strip().removeprefix("gitdir:").strip()
            git = (repo / target).resolve()
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref:"):
            ref = head[4:].strip()
            ref_file = git / ref
            if ref_file.exists():
                info["commit"] = ref_file.read_text().strip()
            elif (git / "packed-refs").exists():
                for line in (git / "packed-refs").read_text().splitlines():
                    if line.endswith(" " + ref):
                        info["commit"] = line.split()[0]
        else:
            info["commit"] = head
        cfg = git / "config"
        if cfg.exists():
            m = re.search(r'\[remote "origin"\][^\[]*?url\s*=\s*(\S+)', cfg.read_text())
            if m:
                info["remote"] = m.group(1)
    except OSError:
        return info
    try:
        res = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        info["dirty"] = bool(res.stdout.strip()) if res.returncode == 0 else False
    except (OSError, subprocess.SubprocessError):
        pass
    return info
