"""UVM flavour: which UVM 1.1/1.2 APIs a compile unit uses that UVM 1800.2-2017 deprecated or dropped.

Each file is lexed with pyslang (comments and strings do not count; `` `ifdef`` branches are not
evaluated, so a 1.x use in a disabled branch still counts: the compile then merely gets a harmless
``UVM_ENABLE_DEPRECATED_API``). The unit's flavour is the oldest one any use needs:

- deprecated in 2017 (kept behind ``+define+UVM_ENABLE_DEPRECATED_API``): `` `uvm_do_with``,
  `` `uvm_do_on``, `` `uvm_do_on_with``, `` `uvm_create_on``, `` `uvm_send_pri``, `` `uvm_rand_send_with``,
  ``uvm_top``, ...;
- dropped from 2017 altogether: the global ``uvm_test_done`` objection (and ``set_drain_time`` on it),
  ``set_global_timeout``, ``set_global_stop_timeout``, and UVM 1.1's global ``factory`` (not a
  ``uvm_factory factory = ...`` declaration of the testbench's own): dvsmith's compatibility package
  (``dvsmith/sim/data/dvsmith_uvm_compat_pkg.sv``) supplies them;
- UVM 1.1 only (`` `uvm_sequence_utils``, `` `uvm_sequencer_utils``, ``global_stop_request``, ...): no
  2017 equivalent; reported, and the diagnosis names them when the compile fails.
"""

from __future__ import annotations

from pathlib import Path

from dvsmith.analysis.profile import UvmUse

#: construct -> (flavour, dropped from 2017, the compat package supplies it)
CONSTRUCTS: dict[str, tuple[str, bool, bool]] = {
    "uvm_test_done": ("1.2", True, True),
    "set_global_timeout": ("1.2", True, True),
    "set_global_stop_timeout": ("1.2", True, True),
    "factory": ("1.1", True, True),
    "uvm_top": ("1.2", False, False),
    # a uvm_sequence_base variable in 1.1/1.2; 2017 has only get/set_starting_phase (rewrite starting_phase_accessors)
    "starting_phase": ("1.2", True, False),
    "`uvm_do_with": ("1.2", False, False),
    "`uvm_do_on": ("1.2", False, False),
    "`uvm_do_on_with": ("1.2", False, False),
    "`uvm_do_pri": ("1.2", False, False),
    "`uvm_do_pri_with": ("1.2", False, False),
    "`uvm_do_on_pri": ("1.2", False, False),
    "`uvm_do_on_pri_with": ("1.2", False, False),
    "`uvm_create_on": ("1.2", False, False),
    "`uvm_do_seq": ("1.2", False, False),
    "`uvm_do_seq_with": ("1.2", False, False),
    "`uvm_send_pri": ("1.2", False, False),
    "`uvm_rand_send_with": ("1.2", False, False),
    "`uvm_rand_send_pri": ("1.2", False, False),
    "`uvm_rand_send_pri_with": ("1.2", False, False),
    "`uvm_sequence_utils": ("1.1", True, False),
    "`uvm_sequence_utils_begin": ("1.1", True, False),
    "`uvm_sequencer_utils": ("1.1", True, False),
    "`uvm_sequencer_utils_begin": ("1.1", True, False),
    "`uvm_update_sequence_lib": ("1.1", True, False),
    "`uvm_update_sequence_lib_and_item": ("1.1", True, False),
    "global_stop_request": ("1.1", True, False),
    "stop_request": ("1.1", True, False),
    # UVM 1.1's uvm_sequencer_arb_mode names (1.2 and 2017: UVM_SEQ_ARB_*); constants in the compatibility package
    **{f"SEQ_ARB_{m}": ("1.1", True, True)
       for m in ("FIFO", "WEIGHTED", "RANDOM", "STRICT_FIFO", "STRICT_RANDOM", "USER")},
}
COMPAT_PACKAGE = "dvsmith_uvm_compat_pkg"
COMPAT_FILE = Path(__file__).resolve().parent.parent / "sim" / "data" / "dvsmith_uvm_compat_pkg.sv"
DEPRECATED_DEFINE = "UVM_ENABLE_DEPRECATED_API"


def scan_text(text: str, rel: str) -> list[UvmUse]:
    """Every 1.x construct of one file's text (first use per construct and line)."""
    if not any(name.lstrip("`") in text for name in CONSTRUCTS):
        return []  # no construct's name anywhere: nothing to lex (and pyslang stays unloaded)
    from pyslang import BumpAllocator, Diagnostics, SourceManager
    from pyslang.parsing import Lexer, TokenKind

    sm = SourceManager()
    lexer = Lexer(sm.assignText(rel, text), BumpAllocator(), Diagnostics(), sm)
    out: list[UvmUse] = []
    seen: set[tuple[str, int]] = set()
    prev: object = None
    prev_text = ""
    while True:
        tok = lexer.lex()
        kind = tok.kind
        if kind == TokenKind.EndOfFile:
            break
        name = None
        if kind == TokenKind.Directive:
            name = tok.rawText
        elif kind == TokenKind.Identifier and prev != TokenKind.Dot:  # obj.stop_request() of a user class
            name = tok.valueText
            if name == "factory" and prev_text == "uvm_factory":  # the testbench declares its own
                name = None
        prev = kind
        prev_text = tok.valueText if kind == TokenKind.Identifier else ""
        if name is None or name not in CONSTRUCTS:
            continue
        line = sm.getLineNumber(tok.location)
        if (name, line) in seen:
            continue
        seen.add((name, line))
        flavour, dropped, _ = CONSTRUCTS[name]
        out.append(UvmUse(file=rel, line=line, api=name, flavour=flavour, dropped=dropped))  # type: ignore[arg-type]
    return out


def scan_files(repo: Path, files: list[str], known: dict[str, list[dict]] | None = None) -> list[UvmUse]:
    """The uses in ``files``; ``known`` holds each parsed file's uses from its cached facts
    (``{"line", "api"}`` records), so only files without facts are read and lexed here."""
    out: list[UvmUse] = []
    for rel in files:
        if known is not None and rel in known:
            for u in known[rel]:
                if u["api"] not in CONSTRUCTS:
                    continue
                flavour, dropped, _ = CONSTRUCTS[u["api"]]
                out.append(UvmUse(file=rel, line=u["line"], api=u["api"], flavour=flavour, dropped=dropped))  # type: ignore[arg-type]
            continue
        try:
            text = (repo / rel).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        out += scan_text(text, rel)
    return out


def flavour_of(uses: list[UvmUse]) -> str:
    """ "1.1", "1.2" or "2017"."""
    flavours = {u.flavour for u in uses}
    return "1.1" if "1.1" in flavours else ("1.2" if "1.2" in flavours else "2017")


def needs_compat(uses: list[UvmUse]) -> bool:
    return any(CONSTRUCTS[u.api][2] for u in uses)
