"""Benchmark ingest on a synthetic UVM repo: cold (no cache), warm (unchanged) and one-file-changed.

    python scripts/bench_ingest.py                 # ~2,000 files, large AVIP-like repo
    python scripts/bench_ingest.py --size medium   # ~300 files, ~30,000 lines
    python scripts/bench_ingest.py --compare-pool  # cold ingest serial vs. process pool, side by side
    python scripts/bench_ingest.py --size medium --process   # also whole `dvsmith ingest` processes

The repo is generated in a temp folder: per agent a package that `includes one file per class, an
env package, a test package with a test list, a top module, filelists and a Makefile. DVSMITH_HOME
points to a temp folder, so the user's caches are untouched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {
    # agents, sequences per agent, tests, filler lines per class
    "small": (4, 4, 8, 10),
    "medium": (16, 8, 40, 92),
    "large": (110, 12, 200, 18),
}


def _class(name: str, base: str, body: str, filler: int) -> str:
    lines = [f"class {name} extends {base};", f"  `uvm_object_utils({name})"]
    for i in range(filler):
        lines.append(f"  rand bit [7:0] f{i}; // field {i}")
    lines.append(body)
    lines.append(f'  function new(string name = "{name}"); super.new(name); endfunction')
    lines.append(f"endclass : {name}\n")
    return "\n".join(lines)


def generate(root: Path, size: str) -> tuple[int, int]:
    agents, nseq, ntests, filler = SIZES[size]
    files: dict[str, str] = {}
    fl: list[str] = ["+incdir+${PROJ_ROOT}/tb", "+define+BENCH"]
    for a in range(agents):
        ag = f"ag{a}"
        d = f"agents/{ag}"
        fl.append(f"+incdir+{d}")
        incs = []
        files[f"{d}/{ag}_item.svh"] = _class(f"{ag}_item", "uvm_sequence_item", "  constraint c { f0 < 10; }", filler)
        for kind, base in (
            ("sqr", f"uvm_sequencer #({ag}_item)"),
            ("drv", f"uvm_driver #({ag}_item)"),
            ("mon", "uvm_monitor"),
            ("agent", "uvm_agent"),
            ("cfg", "uvm_object"),
        ):
            body = "  task run_phase(uvm_phase phase);\n    forever begin #1; end\n  endtask" if kind != "cfg" else ""
            files[f"{d}/{ag}_{kind}.svh"] = _class(f"{ag}_{kind}", base, body, filler)
            incs.append(f"{ag}_{kind}.svh")
        files[f"{d}/{ag}_base_seq.svh"] = _class(f"{ag}_base_seq", f"uvm_sequence #({ag}_item)", "", filler)
        incs.insert(0, f"{ag}_item.svh")
        incs.append(f"{ag}_base_seq.svh")
        for s in range(nseq):
            body = (
                "  task body();\n    repeat (4) begin\n      `uvm_do_with(req, { f0 == 1; })\n    end\n"
                f'    `uvm_info("{ag}", "done", UVM_LOW)\n  endtask'
            )
            files[f"{d}/seq/{ag}_seq{s}.svh"] = _class(f"{ag}_seq{s}", f"{ag}_base_seq", body, filler)
            incs.append(f"seq/{ag}_seq{s}.svh")
        files[f"{d}/{ag}_pkg.sv"] = (
            f'package {ag}_pkg;\n  import uvm_pkg::*;\n  `include "uvm_macros.svh"\n'
            + "".join(f'  `include "{i}"\n' for i in incs)
            + "endpackage\n"
        )
        files[f"{d}/{ag}_if.sv"] = f"interface {ag}_if(input logic clk);\n  logic [7:0] data;\nendinterface\n"
        fl += [f"{d}/{ag}_if.sv", f"{d}/{ag}_pkg.sv"]
    env_body = "\n".join(f"  ag{a}_agent m_ag{a};" for a in range(agents))
    files["tb/env/env.svh"] = _class("tb_env", "uvm_env", env_body, filler)
    files["tb/env/vsqr.svh"] = _class("tb_vsqr", "uvm_sequencer", "  ag0_sqr s0;", filler)
    files["tb/env/vseq.svh"] = _class(
        "tb_vseq",
        "uvm_sequence",
        "  `uvm_declare_p_sequencer(tb_vsqr)\n  task body();\n"
        '    ag0_seq0 s = ag0_seq0::type_id::create("s");\n'
        "    s.start(p_sequencer.s0);\n  endtask",
        filler,
    )
    files["tb/env/env_pkg.sv"] = (
        "package env_pkg;\n  import uvm_pkg::*;\n"
        + "".join(f"  import ag{a}_pkg::*;\n" for a in range(agents))
        + '  `include "env/vsqr.svh"\n  `include "env/env.svh"\n  `include "env/vseq.svh"\nendpackage\n'
    )
    test_incs = []
    files["tb/tests/base_test.svh"] = _class("base_test", "uvm_test", "  tb_env env;", filler)
    for t in range(ntests):
        a = t % agents
        body = (
            "  task run_phase(uvm_phase phase);\n    phase.raise_objection(this);\n"
            f'    begin ag{a}_seq{t % nseq} s = ag{a}_seq{t % nseq}::type_id::create("s");\n'
            f"    s.start(env.m_ag{a}.m_sqr); end\n    phase.drop_objection(this);\n  endtask"
        )
        files[f"tb/tests/test_{t}.svh"] = _class(f"test_{t}", "base_test", body, filler)
        test_incs.append(f"tests/test_{t}.svh")
    files["tb/tests/test_pkg.sv"] = (
        'package test_pkg;\n  import uvm_pkg::*;\n  import env_pkg::*;\n  `include "tests/base_test.svh"\n'
        + "".join(f'  `include "{i}"\n' for i in test_incs)
        + "endpackage\n"
    )
    files["tb/tb_top.sv"] = (
        "module tb_top;\n  import uvm_pkg::*;\n  import test_pkg::*;\n  logic clk;\n"
        + "".join(f"  ag{a}_if ag{a}_vif(clk);\n" for a in range(agents))
        + "  dut u_dut(.clk(clk));\n  initial run_test();\nendmodule\n"
    )
    files["rtl/dut.sv"] = "module dut(input logic clk);\n" + "  logic r;\n" * filler + "endmodule\n"
    fl += ["rtl/dut.sv", "tb/env/env_pkg.sv", "tb/tests/test_pkg.sv", "tb/tb_top.sv"]
    files["sim/tb.f"] = (
        "// generated filelist\n" + "\n".join(x if x.startswith("+") else f"${{PROJ_ROOT}}/{x}" for x in fl) + "\n"
    )
    files["sim/Makefile"] = (
        "PROJ_ROOT ?= ..\nTEST ?= test_0\nrun:\n\txrun -uvm -f tb.f +UVM_TESTNAME=$(TEST) -top tb_top\n"
    )
    lines = 0
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        lines += text.count("\n")
    return len(files), lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="large")
    ap.add_argument(
        "--compare-pool", action="store_true", help="also time cold ingests forced serial and forced to the pool"
    )
    ap.add_argument(
        "--process", action="store_true",
        help="also time whole `dvsmith ingest` processes (cold, then warm: median and best of --runs)",
    )  # fmt: skip
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dvsmith-bench-") as tmp:
        os.environ["DVSMITH_HOME"] = str(Path(tmp) / "home")
        from dvsmith.analysis import ingest as ing

        repo = Path(tmp) / "repo"
        nfiles, nlines = generate(repo, args.size)
        print(f"repo: {nfiles} files, {nlines} lines ({args.size})")

        def run(label: str, use_cache: bool) -> None:
            t0 = time.perf_counter()
            profile, stats = ing.analyze_repo(repo, use_cache=use_cache)
            dt = time.perf_counter() - t0
            print(
                f"{label:<22} {dt:7.3f} s  parsed {stats.files_parsed:5d}  hits {stats.cache_hits:5d}  "
                f"{stats.files_total / dt:9.0f} files/s  "
                f"tests {len(profile.tests)}  seqs {len(profile.sequences)}"
            )

        if args.compare_pool:
            saved = (ing.POOL_MIN_FILES, ing.POOL_MIN_BYTES)
            ing.POOL_MIN_FILES, ing.POOL_MIN_BYTES = 10**9, 10**12
            run("cold (serial)", use_cache=False)
            ing.POOL_MIN_FILES, ing.POOL_MIN_BYTES = 1, 0
            run("cold (process pool)", use_cache=False)
            ing.POOL_MIN_FILES, ing.POOL_MIN_BYTES = saved
        run("cold", use_cache=False)
        run("warm", use_cache=True)
        target = next(iter(sorted(repo.rglob("*_seq0.svh"))))
        target.write_text(target.read_text() + "\n// touched\n")
        run("one file changed", use_cache=True)
        run("warm again", use_cache=True)
        if args.process:
            _processes(repo, Path(tmp) / "proc-home", args.runs)


def _processes(repo: Path, home: Path, runs: int) -> None:
    """Whole processes as a user runs them (interpreter start, imports, rendering, exit)."""
    env = {**os.environ, "DVSMITH_HOME": str(home)}
    cmd = [sys.executable, "-m", "dvsmith", "ingest", str(repo)]

    def once(extra: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run([*cmd, *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - t0

    cold = once(["--no-cache"])
    for label, extra in (("warm process", []), ("warm process --json", ["--json"])):
        # the first warm run is the normal command (it records the stamp); the next ones are answered by
        # the warm-ingest shortcut (dvsmith.cli.warm) as long as nothing changes
        first = once(extra)
        times = [once(extra) for _ in range(runs)]
        print(f"{label:<22} {first:7.3f} s the normal command; answered by the shortcut: "
              f"{statistics.median(times):.3f} s median, {min(times):.3f} s best of {runs}")  # fmt: skip
    print(f"{'cold process':<22} {cold:7.3f} s")
    bare = [0.0] * 3
    for i in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare[i] = time.perf_counter() - t0
    imports = []
    for mod in ("typer", "pydantic", "rich.table", "dvsmith.cli.main", "dvsmith.analysis.ingest", "dvsmith.cli.warm"):
        t = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {mod}"], check=True)
            t.append(time.perf_counter() - t0)
        imports.append(f"{mod} {min(t):.3f}")
    print(f"{'floor':<22} python -c pass {min(bare):.3f} s; import (whole process, best of 3): " + ", ".join(imports))


if __name__ == "__main__":
    main()
