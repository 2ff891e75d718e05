#!/usr/bin/env python3
"""Side-by-side Verilator compile options on one UVM testbench: what cuts the C++ time.

Every variant compiles the same tree from scratch into its own folder, one after the other, in this one
run (a cold ccache per variant unless the variant says it reuses one), and the table prints wall time,
Verilator's own split (front end / C++ build, from its "Walltime ... bld=" line), the ccache hit count
and the ratio to the first variant. The simulation of one test is run on each binary and its result
and coverage point count must equal the baseline's, so a variant that changes results is flagged.

    python scripts/bench_compile.py                        # the smoke bench of tests/data/sim/smoke
    python scripts/bench_compile.py --repo fixtures/b_single_file --variants base,o1,split
    python scripts/bench_compile.py --list

Needs the simulation toolchain (``dvsmith doctor``) and a provisioned UVM library.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dvsmith.analysis.profile import CompileUnit  # noqa: E402
from dvsmith.sim.base import CompileRequest  # noqa: E402
from dvsmith.sim.coverage import parse_coverage_dat  # noqa: E402
from dvsmith.sim.toolchain import Toolchain, resolve_toolchain  # noqa: E402
from dvsmith.sim.verilator import VerilatorAdapter  # noqa: E402

SMOKE = ROOT / "tests" / "data" / "sim" / "smoke"
SMOKE_UNIT = CompileUnit(
    name="smoke",
    sources=["rtl/counter.sv", "tb/smoke_if.sv", "tb/smoke_pkg.sv", "tb/tb_top.sv"],
    incdirs=["tb"],
)


@dataclass
class Variant:
    name: str
    what: str
    args: list[str] = field(default_factory=list)  # extra verilator arguments
    cflags: str | None = None  # replaces the -CFLAGS value
    make: list[str] = field(default_factory=list)  # extra -MAKEFLAGS
    ccache: str = "cold"  # cold | none | reuse:<variant> (the ccache folder of an earlier variant)
    edit: bool = False  # compile a copy of the tree with one test file changed (a solution's tree)
    jobs: int | None = None  # make -j (default: the cores)
    pair: str = ""  # "sequential" | "concurrent": compile the tree and the edited tree (gym + original)
    cxx: str = "gcc"  # "gcc": g++; "auto": the toolchain's choice (clang++ when installed)


VARIANTS = {
    v.name: v
    for v in [
        Variant("base", "g++ (dvsmith's default without clang++): -O0, make -j cores, PCH, ccache (cold)"),
        Variant(
            "serial",
            "one translation unit, no PCH (VM_PARALLEL_BUILDS=0), -O0 everywhere, 1 core",
            make=["VM_PARALLEL_BUILDS=0", "OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"],
            jobs=1,
        ),
        Variant("o1", "-O1 instead of -O0", cflags="-std=c++20 -fcoroutines -O1"),
        Variant(
            "optfast0",
            "-O0 also for Verilator's OPT_FAST/OPT_SLOW/OPT_GLOBAL",
            make=["OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"],
        ),
        Variant(
            "split",
            "--output-split 5000 --output-split-cfuncs 500",
            args=["--output-split", "5000", "--output-split-cfuncs", "500"],
        ),
        Variant("novt", "-fno-var-tracking", cflags="-std=c++20 -fcoroutines -O0 -fno-var-tracking"),
        Variant("gold", "linked with gold", make=["LDFLAGS=-fuse-ld=gold"]),
        Variant("clang", "clang++ instead of g++ (its own PCH through -include-pch, libatomic), -O0", cxx="auto"),
        Variant("clang-j3", "clang++, make -j cores+1 (a job waits on I/O or the last large file)", cxx="auto", jobs=3),
        Variant(
            "clang-split",
            "clang++, --output-split 5000 --output-split-cfuncs 500 (smaller files: the largest one bounds make -j)",
            args=["--output-split", "5000", "--output-split-cfuncs", "500"],
            cxx="auto",
        ),
        Variant("pair-clang", "gym + original one after the other, clang++", cxx="auto", pair="sequential"),
        Variant("pair-clang-par", "gym + original at the same time, clang++", cxx="auto", pair="concurrent"),
        Variant("warm", "ccache warm: the same tree again, reusing base's ccache", ccache="reuse:base"),
        Variant(
            "edit", "a solution's tree (one test class more), reusing base's ccache", ccache="reuse:base", edit=True
        ),
        Variant("nocache", "no ccache at all", ccache="none"),
        Variant(
            "pair-base", "gym + original as a build does them: two base compiles one after the other", pair="sequential"
        ),
        Variant(
            "pair-serial",
            "gym + original at the same time, each one serial TU on one core",
            make=["VM_PARALLEL_BUILDS=0", "OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"],
            jobs=1,
            pair="concurrent",
        ),
        Variant("pair-par", "gym + original at the same time, each make -j cores with PCH", pair="concurrent"),
    ]
}

_WALL = re.compile(r"Walltime ([\d.]+) s \(elab=([\d.]+), cvt=([\d.]+), bld=([\d.]+)\)")


def _unit_for(repo: Path) -> tuple[Path, CompileUnit]:
    if repo == SMOKE:
        return repo, SMOKE_UNIT
    from dvsmith.analysis.ingest import analyze_repo

    profile, _ = analyze_repo(repo, use_cache=False, write_cache=False)
    return repo, profile.compile_units[0]


def _ccache_stats(ccache_dir: Path) -> str:
    exe = shutil.which("ccache")
    if exe is None:
        return "-"
    out = subprocess.run([exe, "--print-stats"], env={**os.environ, "CCACHE_DIR": str(ccache_dir)},
                         capture_output=True, text=True).stdout  # fmt: skip
    stats = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
    hits = int(stats.get("direct_cache_hit", 0)) + int(stats.get("preprocessed_cache_hit", 0))
    misses = int(stats.get("cache_miss", 0))
    return f"{hits}/{hits + misses}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, default=SMOKE)
    ap.add_argument("--variants", default="base,serial,warm,edit,pair-base,pair-serial,pair-par,o1,split")
    ap.add_argument("--work", type=Path, default=Path("/tmp/dvsmith-bench-compile"))
    ap.add_argument("--test", default=None, help="a test to run on each binary (default: the first test found)")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for v in VARIANTS.values():
            print(f"{v.name:10} {v.what}")
        return 0
    tc = resolve_toolchain(None, download_uvm=False)
    adapter = VerilatorAdapter(toolchain=tc)
    repo, unit = _unit_for(args.repo.resolve())
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    tree = args.work / "tree"
    shutil.copytree(repo, tree)
    edited = args.work / "tree_edit"
    shutil.copytree(repo, edited)
    # a solution's tree: one more test class in the file of the tests (new generated C++, as a solution
    # that differs from the reference makes)
    test_rel = "tb/smoke_tests.svh" if repo == SMOKE else _first_test_file(tree)
    test_file = edited / test_rel
    test_file.write_text(test_file.read_text() + EXTRA_TEST)
    test = args.test or ("smoke_pass_test" if repo == SMOKE else _first_test(tree))
    rows: list[tuple[str, float, str, str, str, str]] = []
    base_result: tuple[str, int] | None = None
    for name in args.variants.split(","):
        v = VARIANTS[name]
        if v.pair:
            jobs_list = [(tree, args.work / name / "original"), (edited, args.work / name / "gym")]
        else:
            jobs_list = [(edited if v.edit else tree, args.work / name)]
        t0 = time.perf_counter()
        if v.pair == "concurrent":
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [pool.submit(_compile, adapter, tc, unit, v, args.work, *j) for j in jobs_list]
                outs = [f.result() for f in futures]
        else:
            outs = [_compile(adapter, tc, unit, v, args.work, *j) for j in jobs_list]
        wall = time.perf_counter() - t0
        front = "+".join(o.front for o in outs)
        bld = "+".join(o.bld for o in outs)
        hits = "+".join(o.hits for o in outs)
        same = "?"
        binary = outs[0].binary
        if binary is not None:
            result = _run(binary, test, outs[0].folder, tc.env())
            if base_result is None:
                base_result = result
            same = "same" if result == base_result else f"DIFFERS {result} vs {base_result}"
        else:
            same = f"compile failed ({outs[0].returncode}); see {outs[0].folder}/compile.log"
        rows.append((name, wall, front, bld, hits, same))
        print(f"{name}: {wall:.1f} s", file=sys.stderr)
    base_wall = rows[0][1] if rows else 1.0
    print(f"\n{'variant':12} {'wall s':>8} {'ratio':>6} {'front s':>9} {'C++ s':>9} {'ccache':>13}  result")
    for name, wall, front, bld, hits, same in rows:
        print(f"{name:12} {wall:8.1f} {wall / base_wall:6.2f} {front:>9} {bld:>9} {hits:>13}  {same}")
    for name, *_ in rows:
        print(f"  {name}: {VARIANTS[name].what}")
    return 0


@dataclass
class _Out:
    folder: Path
    binary: Path | None
    returncode: int
    front: str
    bld: str
    hits: str


def _compile(adapter: VerilatorAdapter, tc: Toolchain, unit: CompileUnit, v: Variant, work: Path, src: Path,
             folder: Path) -> _Out:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    jobs = v.jobs or os.cpu_count() or 2
    req = CompileRequest(repo_root=src, unit=unit, work_dir=folder, jobs=jobs, use_cache=False, cxx=v.cxx)
    cmd, _, _ = adapter.build_command(req, tc)
    if v.cflags is not None:
        cmd[cmd.index("-CFLAGS") + 1] = v.cflags
    for m in v.make:
        cmd += ["-MAKEFLAGS", m]
    cmd = cmd[:1] + v.args + cmd[1:]
    env = tc.env()
    ccache_dir: Path | None
    if v.ccache == "none":
        keep: list[str] = []
        for a in cmd:
            if a == "OBJCACHE=ccache" and keep and keep[-1] == "-MAKEFLAGS":
                keep.pop()
                continue
            keep.append(a)
        cmd, ccache_dir = keep, None
    elif v.ccache.startswith("reuse:"):
        ccache_dir = work / v.ccache.split(":", 1)[1] / "ccache"
    else:
        ccache_dir = folder / "ccache"
    if ccache_dir is not None:
        ccache_dir.mkdir(parents=True, exist_ok=True)
        env["CCACHE_DIR"] = str(ccache_dir)
        subprocess.run(["ccache", "--zero-stats"], env=env, capture_output=True)
    obj = folder / "obj"
    shutil.rmtree(obj, ignore_errors=True)
    proc = subprocess.run([*cmd, "--Mdir", str(obj), "-o", "Vbench"], cwd=folder, env=env, capture_output=True,
                          text=True)  # fmt: skip
    text = proc.stdout + proc.stderr
    (folder / "compile.log").write_text(text)
    m = _WALL.search(text)
    front = f"{float(m.group(2)) + float(m.group(3)):.0f}" if m else "?"
    bld = f"{float(m.group(4)):.0f}" if m else "?"
    hits = _ccache_stats(ccache_dir) if ccache_dir is not None else "-"
    binary = obj / "Vbench"
    ok = proc.returncode == 0 and binary.is_file()
    return _Out(folder, binary if ok else None, proc.returncode, front, bld, hits)


def _run(binary: Path, test: str, folder: Path, env: dict[str, str]) -> tuple[str, int]:
    cov = folder / "coverage.dat"
    run = subprocess.run([str(binary), f"+UVM_TESTNAME={test}", "+verilator+seed+1",
                          f"+verilator+coverage+file+{cov}"], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    summary = re.findall(r"UVM_(?:ERROR|FATAL) :\s*(\d+)", run.stdout)
    points = sum(m.total for m in parse_coverage_dat(cov).metrics.values()) if cov.is_file() else -1
    return ",".join(summary), points


EXTRA_TEST = """
class dvsmith_bench_extra_test extends uvm_test;
  `uvm_component_utils(dvsmith_bench_extra_test)
  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction
endclass
"""


def _first_test_file(tree: Path) -> str:
    from dvsmith.analysis.ingest import analyze_repo

    profile, _ = analyze_repo(tree, use_cache=False, write_cache=False)
    return next(t.file for t in profile.tests if not t.is_base and t.in_build)


def _first_test(tree: Path) -> str:
    from dvsmith.analysis.ingest import analyze_repo

    profile, _ = analyze_repo(tree, use_cache=False, write_cache=False)
    return next(t.name for t in profile.tests if not t.is_base and t.in_build)


if __name__ == "__main__":
    raise SystemExit(main())
