"""HDL backdoor access under Verilator: UVM's DPI library with an ``uvm_hdl`` backend of dvsmith's own.

A testbench whose register model names HDL paths (``add_hdl_path``, ``add_hdl_path_slice``,
``set_hdl_path_root``), reads or writes ``UVM_BACKDOOR`` (``peek``/``poke``, ``mirror(..., UVM_BACKDOOR)``)
or calls ``uvm_hdl_*`` itself cannot run in UVM's pure-SV mode (``UVM_NO_DPI``): every backdoor access
ends in ``UVM_FATAL [UVM_HDL_READ] uvm_hdl DPI routines are compiled off``. UVM ships its hdl backends
for VCS, Questa and Xcelium only, so such a unit is compiled instead:

- without ``UVM_NO_DPI``, with ``data/dvsmith_uvm_dpi.cc``: UVM's own command-line, regex and reporting
  DPI code (``src/dpi`` of the UVM tree in use) and ``uvm_hdl_*`` written on standard VPI
  (``vpi_handle_by_name``/``vpi_get_value``/``vpi_put_value``); it refuses paths into dvsmith's modules;
- with ``--vpi`` and a generated ``.vlt`` making the signals of the unit's own modules
  ``public_flat_rw`` (found by name). Not Verilator's ``--public-flat-rw``: that also reaches the
  ``std::process`` class, whose ``$c`` code then names a renamed member and the C++ does not build
  (Verilator 5.049, checked).

Detected on the tokens of every file the compile reads (pyslang's lexer: comments and strings don't
count). A UVM tree without the DPI sources dvsmith compiles keeps ``UVM_NO_DPI`` (``missing_uvm_dpi``).

UVM's command line needs the same DPI code: in pure-SV mode ``uvm_cmdline_processor`` sees no argument at
all (``uvm_dpi_get_next_arg`` returns ""), so a test reading ``+slave_adr_max=`` through it, or a
``+uvm_set_inst_override=``/``+UVM_VERBOSITY=`` its flow passes, silently gets nothing (Practical-UVM's
wb_conmax ``simple_cmdline_proc`` then configures every address range as 0 and never ends). Such a unit
or a unit whose tests the flow gives plusargs (``reads_uvm_command_line``) is compiled with UVM's DPI as
well (``--vpi``, no public signals).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from pyslang.parsing import TokenKind

from dvsmith import paths
from dvsmith.sim import lexscan

#: what reads UVM's command line: the processor class and UVM 1.2's global handle
COMMAND_LINE_NAMES = frozenset({"uvm_cmdline_processor", "uvm_cmdline_proc"})
BACKDOOR_NAMES = frozenset({"add_hdl_path", "add_hdl_path_slice", "set_hdl_path_root", "UVM_BACKDOOR"})
_HDL_PREFIX = "uvm_hdl_"  # uvm_hdl_read/deposit/force/check_path/release...: but not uvm_hdl_path_concat
_QUICK = ("hdl_path", "uvm_backdoor", "uvm_hdl_")
# the UVM sources dvsmith_uvm_dpi.cc includes (UVM 1.2 and 1800.2 have them in src/dpi)
UVM_DPI_FILES = ("uvm_dpi.h", "uvm_common.c", "uvm_regex.cc", "uvm_svcmd_dpi.c")
_NAMED = (TokenKind.Identifier, TokenKind.MacroUsage)
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")  # what a .vlt string may hold as a module name


def dpi_source() -> Path:
    """dvsmith's DPI library for Verilator (package data)."""
    return Path(str(resources.files("dvsmith.sim") / "data" / "dvsmith_uvm_dpi.cc"))


def uses_hdl_backdoor(files: Iterable[Path]) -> bool:
    """True when any file names a register-model HDL path, ``UVM_BACKDOOR`` or an ``uvm_hdl_*`` routine."""
    for f in files:
        text = lexscan.read_source(f)
        if text is None or not any(q in text.lower() for q in _QUICK):
            continue
        for tok in lexscan.tokens(f, text):
            if tok.kind in _NAMED:
                name = tok.valueText.lstrip("`")
                if name in BACKDOOR_NAMES or (name.startswith(_HDL_PREFIX) and name != "uvm_hdl_path_concat"):
                    return True
    return False


def reads_uvm_command_line(files: Iterable[Path], plusargs: Iterable[str] = ()) -> bool:
    """True when a file names UVM's command-line processor, or the repo's flow gives its tests plusargs.

    Any plusarg counts (not only ``+uvm_set_*``/``+UVM_VERBOSITY``, which UVM reads through the processor):
    the test that reads ``+x=`` may be the one the gym hides, and the original, the gym and a candidate's
    solution must compile the same way. ``+UVM_TESTNAME`` does not count (pure-SV UVM reads it too)."""
    if any(not p.upper().startswith("+UVM_TESTNAME=") for p in plusargs):
        return True
    for f in files:
        text = lexscan.read_source(f)
        if text is None or "uvm_cmdline_proc" not in text:
            continue
        if any(tok.kind in _NAMED and tok.valueText in COMMAND_LINE_NAMES for tok in lexscan.tokens(f, text)):
            return True
    return False


def design_modules(files: Iterable[Path]) -> list[str]:
    """Names of the modules the files declare (``module [automatic|static] name``), sorted, without
    dvsmith's own (``dvsmith*``)."""
    names: set[str] = set()
    for f in files:
        text = lexscan.read_source(f)
        if text is None or "module" not in text:
            continue
        for module, _ in lexscan.in_modules(lexscan.tokens(f, text)):
            if module is not None:
                names.add(module)
    return sorted(n for n in names if _PLAIN_NAME.match(n) and not n.startswith("dvsmith"))


def missing_uvm_dpi(uvm_home: Path) -> list[str]:
    """The UVM DPI sources dvsmith's library needs that the UVM tree lacks (empty: it can be built)."""
    dpi = uvm_home / "src" / "dpi"
    return [n for n in UVM_DPI_FILES if not (dpi / n).is_file()]


def public_config(modules: list[str]) -> Path:
    """A ``.vlt`` making every signal of ``modules`` ``public_flat_rw`` (content-addressed, in the sim cache)."""
    lines = ["`verilator_config"] + [f'public_flat_rw -module "{m}" -var "*"' for m in modules]
    text = "\n".join(lines) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = paths.sim_cache_dir() / "config" / f"hdl_public_{digest}.vlt"
    if not path.is_file():
        paths.atomic_write_text(path, text)
    return path


def verilator_args(uvm_home: Path, modules: list[str] | None) -> list[str]:
    """What a unit built with UVM's DPI adds to its Verilator command: VPI, the DPI library, the include
    folder of UVM's DPI sources and, for a backdoor unit (``modules``), its modules' signals made public
    (``UVM_NO_DPI`` is left out by the caller)."""
    public = [str(public_config(modules))] if modules is not None else []
    return ["--vpi", *public, str(dpi_source()), "-CFLAGS", f"-I{uvm_home / 'src' / 'dpi'}"]
