"""``dvsmith.toml``: the per-repo escape hatch for what recipe detection gets wrong.

Read from the repo root (or the file given with ``ingest --sim-config FILE``) with ``tomllib`` into a
pydantic model. Every path in it is relative to the repo root and confined to it; a bad file is a
clear one-line error (exit 2). Example::

    # dvsmith.toml
    run_dir = "sim"                      # folder the repo's flow runs from (includes resolve against it)
    incdirs = ["tb/include"]             # added after the detected +incdir+ folders
    defines = ["DATA_WIDTH=32", "NO_ASSERTS"]
    files = ["tb/extra_pkg.sv"]          # compiled ahead of the unit's sources
    top_modules = ["hdl_top", "hvl_top"] # replaces the detected top modules
    plusargs = ["+TIMEOUT=1000"]         # given to every test run
    rewrites = true                      # Verilator compatibility rewrites (default on)
    disable_rewrites = ["remove_sim_system_tasks"]
    unit = "tb"                          # only this compile unit (default: every unit)

    [tests.boot_test]                    # one test's own plusargs / defines
    plusargs = ["+firmware=boot.hex"]
    defines = ["BOOT_ROM"]
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dvsmith.errors import UserInputError
from dvsmith.paths import confine

CONFIG_NAME = "dvsmith.toml"
_DEFINE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(=.*)?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_defines(values: list[str]) -> list[str]:
    for v in values:
        if not _DEFINE.fullmatch(v):
            raise ValueError(f"not a define (NAME or NAME=VALUE): {v!r}")
    return values


def _check_plusargs(values: list[str]) -> list[str]:
    for v in values:
        if not v.startswith("+") or any(c in v for c in "\n\r\0"):
            raise ValueError(f"a plusarg starts with '+': {v!r}")
    return values


class TestConfig(_Strict):
    plusargs: list[str] = Field(default_factory=list)
    defines: list[str] = Field(default_factory=list)

    _pa = field_validator("plusargs")(_check_plusargs)
    _df = field_validator("defines")(_check_defines)


class SimConfig(_Strict):
    run_dir: str | None = None
    incdirs: list[str] = Field(default_factory=list)
    defines: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    top_modules: list[str] = Field(default_factory=list)
    plusargs: list[str] = Field(default_factory=list)
    rewrites: bool = True
    disable_rewrites: list[str] = Field(default_factory=list)
    unit: str | None = None
    tests: dict[str, TestConfig] = Field(default_factory=dict)

    _pa = field_validator("plusargs")(_check_plusargs)
    _df = field_validator("defines")(_check_defines)

    def define_map(self, values: list[str] | None = None) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for d in self.defines if values is None else values:
            name, eq, value = d.partition("=")
            out[name] = value if eq else None
        return out


def load_sim_config(repo: Path, path: Path | None = None) -> tuple[SimConfig | None, str | None]:
    """The config (None when there is none) and where it came from. Paths are checked against ``repo``."""
    if path is None:
        path = repo / CONFIG_NAME
        if not path.is_file():
            return None, None
    elif not path.is_file():
        raise UserInputError(f"--sim-config: file not found: {path}")
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
        cfg = SimConfig.model_validate(data)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserInputError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise UserInputError(f"{path}: {where}: {err['msg']}") from None
    for rel in [*cfg.incdirs, *cfg.files, *([cfg.run_dir] if cfg.run_dir else [])]:
        try:
            confine(repo, rel)
        except ValueError as exc:
            raise UserInputError(f"{path}: {exc} (paths must stay inside the repository)") from None
    for rel in cfg.files:
        if not (repo / rel).is_file():
            raise UserInputError(f"{path}: files: not found in the repository: {rel}")
    return cfg, str(path)
