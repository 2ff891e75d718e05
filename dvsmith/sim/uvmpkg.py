"""Which UVM package source a compile reads: the whole library, or the library without its register layer.

A third of the C++ that Verilator generates for UVM 1800.2-2017 is the register layer (``uvm_reg*``,
``uvm_mem*``, ``uvm_vreg*``: 5.6 of 16.5 MB on the smoke bench), and no other part of the library uses
it. A testbench that never names it (checked on the tokens of every file the compile reads, with
pyslang's lexer: comments and strings don't count) is compiled against a copy of ``uvm_pkg.sv`` without
the ``reg/uvm_reg_model.svh`` include, kept in the sim cache. Nothing else changes: the same UVM sources,
defines and include paths; coverage excludes UVM either way. When a compile against the subset fails,
the adapter compiles again against the whole library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from pyslang.parsing import TokenKind

from dvsmith import paths
from dvsmith.sim import lexscan

REG_PREFIXES = ("uvm_reg", "uvm_mem", "uvm_vreg", "uvm_predict", "uvm_hdl_path", "UVM_REG", "UVM_MEM", "UVM_HDL")
_REG_INCLUDE = '`include "reg/uvm_reg_model.svh"'
_QUICK = tuple(p.lower() for p in ("uvm_reg", "uvm_mem", "uvm_vreg", "uvm_predict", "uvm_hdl"))


_NAMED = (TokenKind.Identifier, TokenKind.Directive, TokenKind.MacroUsage, TokenKind.SystemIdentifier)


def uses_register_layer(files: Iterable[Path]) -> bool:
    """True when any file names a register-layer class, function or macro (as a token)."""
    for f in files:
        text = lexscan.read_source(f)
        if text is None or not any(q in text.lower() for q in _QUICK):
            continue
        for tok in lexscan.tokens(f, text):
            if tok.kind in _NAMED and tok.valueText.lstrip("`").startswith(REG_PREFIXES):
                return True
    return False


def uvm_package(uvm_home: Path, *, register_layer: bool) -> Path:
    """The ``uvm_pkg.sv`` to compile: the library's own, or a cached copy without the register layer
    (the library's own when its ``uvm_pkg.sv`` does not have the include line we know)."""
    original = uvm_home / "src" / "uvm_pkg.sv"
    if register_layer:
        return original
    try:
        text = original.read_text(errors="replace")
    except OSError:
        return original
    lines = text.splitlines(keepends=True)
    kept = [ln for ln in lines if ln.strip() != _REG_INCLUDE]
    if len(kept) != len(lines) - 1:
        return original
    body = "".join(kept)
    digest = hashlib.sha256((str(uvm_home) + "\0" + body).encode()).hexdigest()[:16]
    path = paths.sim_cache_dir() / "config" / f"uvm_pkg_noreg_{digest}.sv"
    if not path.is_file():
        header = f"// dvsmith: {original} without the register layer (sim/uvmpkg.py)\n"
        paths.atomic_write_text(path, header + body)
    return path
