"""The covergroup lowering checked against IEEE 1800-2017 clause 19 under real Verilator.

``tests/data/fcov_table.sv`` holds one small covergroup per construct (no UVM) and a fixed stimulus;
``EXPECTED`` below is the per-bin hit count worked out by hand from the standard for that stimulus, and
``COVERAGE`` the coverage (19.11: a point's coverage is covered/total bins, ignore/illegal/default
excluded; a covergroup's is the weighted mean of its points and crosses). The whole table is one
Verilator compile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dvsmith.sim.covergroups import apply_edits, lower_text, package_source
from dvsmith.sim.covergroups.results import load_results

pytestmark = pytest.mark.sim

TABLE = Path(__file__).parent / "data" / "fcov_table.sv"

# type -> point -> bin -> hits (every bin the point has, in no particular order)
EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    # explicit bins over values and ranges (19.5.1)
    "fcov_table::cg_values": {"v": {"lo": 3, "hi": 1, "one": 0}},
    # bins x[] = {...}: one bin per value
    "fcov_table::cg_array": {"v": {"a[1]": 1, "a[2]": 0, "a[3]": 2, "a[6]": 0}},
    # bins x[4] = {[1:10], 1, 4, 7}: 13 values, 3 per bin, the last bin takes the rest (IEEE example)
    "fcov_table::cg_fixed": {"v": {"f[0]": 1, "f[1]": 1, "f[2]": 0, "f[3]": 2}},
    # default catches what no other bin has; it is not counted in coverage
    "fcov_table::cg_default": {"v": {"a": 1, "other": 2}},
    # ignore_bins / illegal_bins values leave the other bins (19.5.5, 19.5.6)
    "fcov_table::cg_ignore_illegal": {"v": {"all[0]": 1, "all[1]": 0, "ig": 1, "il": 1}},
    # automatic bins: 2^2 values, one bin each (19.5.3)
    "fcov_table::cg_auto": {"a2": {"auto[0]": 1, "auto[1]": 0, "auto[2]": 0, "auto[3]": 2}},
    # auto_bin_max = 3 over 16 values: 5, 5, and the last takes the remaining 6
    "fcov_table::cg_auto_max": {"v": {"auto[0:4]": 1, "auto[5:9]": 0, "auto[10:15]": 2}},
    # a signed 3-bit coverpoint: bins from -4 to 3
    "fcov_table::cg_auto_signed": {
        "s": {f"auto[{i}]": (1 if i in (-4, -1, 3) else 0) for i in range(-4, 4)},
    },
    "fcov_table::cg_at_least": {"v": {"a": 2, "b": 1}},
    "fcov_table::cg_weight": {"p1": {"a": 1, "b": 0}, "p2": {"a": 1}},
    # iff: samples with the condition false are not taken
    "fcov_table::cg_iff": {"v": {"a": 1}},
    # transitions (19.5.2): 1,2,3,4,4,4,4,5,6,2,5
    "fcov_table::cg_trans": {"v": {"t12": 1, "t123": 1, "r3": 2, "alt": 1, "set": 1, "never": 0}},
    # cross of two coverpoints: automatic cross bins are the product of their bins (19.6)
    "fcov_table::cg_cross": {
        "cp_a": {"z": 1, "nz": 2},
        "cp_b": {"auto[0]": 1, "auto[1]": 2},
        "x": {"<z,auto[0]>": 1, "<z,auto[1]>": 0, "<nz,auto[0]>": 0, "<nz,auto[1]>": 2},
    },
    # binsof/intersect selections; the tuples no user bin takes stay automatic bins (19.6.1)
    "fcov_table::cg_cross_sel": {
        "cp_a": {"v[0]": 1, "v[1]": 0, "v[2]": 1, "v[3]": 1},
        "cp_b": {"f": 1, "t": 2},
        "x": {"lowa": 1, "a3t": 1, "ig": 1, "<v[3],f>": 0},
    },
    # a cross of variables makes implicit coverpoints with automatic bins
    "fcov_table::cg_cross_vars": {
        "a2": {"auto[0]": 0, "auto[1]": 2, "auto[2]": 1, "auto[3]": 0},
        "b1": {"auto[0]": 2, "auto[1]": 1},
        "x": {
            f"<auto[{a}],auto[{b}]>": {(1, 0): 2, (2, 1): 1}.get((a, b), 0) for a in range(4) for b in range(2)
        },
    },
    # covergroup arguments in bin bounds, and '$' (the type's maximum, 15)
    "fcov_table::cg_args": {"v": {"in_r": 1, "above": 2}},
    "fcov_table::cg_sample_fn": {"x": {"even": 2, "odd": 0}},
    # clocking event: sampled at each posedge (v = 1, 2, 3)
    "fcov_table::cg_clock": {"v": {"a": 1, "b": 1}},
    # stop() ... start(): the sample in between is not taken
    "fcov_table::cg_startstop": {"v": {"a": 2}},
    "fcov_table::cg_goal": {"v": {"a": 1}},
    # embedded covergroups of a class: sample() and a clocking event on a class member
    "holder::hcg": {"cp": {"lo": 2, "hi": 0}},
    "holder::ecg": {"cp": {"any": 2}},
}

COVERAGE = {
    "fcov_table::cg_values": 200 / 3,
    "fcov_table::cg_array": 50.0,
    "fcov_table::cg_fixed": 75.0,
    "fcov_table::cg_default": 100.0,
    "fcov_table::cg_ignore_illegal": 50.0,
    "fcov_table::cg_auto": 50.0,
    "fcov_table::cg_auto_max": 200 / 3,
    "fcov_table::cg_auto_signed": 37.5,
    "fcov_table::cg_at_least": 50.0,
    "fcov_table::cg_weight": 62.5,  # (3 x 50 + 1 x 100) / 4
    "fcov_table::cg_iff": 100.0,
    "fcov_table::cg_trans": 500 / 6,
    "fcov_table::cg_cross": 250 / 3,  # (100 + 100 + 50) / 3
    "fcov_table::cg_cross_sel": (75 + 100 + 200 / 3) / 3,
    "fcov_table::cg_cross_vars": (50 + 100 + 25) / 3,
    "fcov_table::cg_args": 100.0,
    "fcov_table::cg_sample_fn": 50.0,
    "fcov_table::cg_clock": 100.0,
    "fcov_table::cg_startstop": 100.0,
    "fcov_table::cg_goal": 100.0,
    "holder::hcg": 50.0,
    "holder::ecg": 100.0,
}

# get_coverage() / get_inst_coverage() as the simulation printed them
PRINTED = {
    "cg_values": 66.67,
    "cg_weight": 62.50,
    "cg_cross": 83.33,
    "cg_cross_sel": 80.56,
    "cg_pi1_inst": 50.00,  # per_instance: each instance's own coverage
    "cg_pi2_inst": 100.00,
    "cg_per_inst": 75.00,  # type coverage: the mean of the instances (merge_instances = 0)
    "holder_hcg": 50.00,
    "cp_weight_p1": 50.00,
}


@pytest.fixture(scope="module")
def table_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from dvsmith.errors import ToolchainError
    from dvsmith.sim.toolchain import find_verilator

    try:
        vl = find_verilator()  # the UVM library is not needed: resolve_toolchain would provision it
    except ToolchainError as exc:
        pytest.skip(f"no Verilator: {exc}")
    work = tmp_path_factory.mktemp("fcov_table")
    data = TABLE.read_bytes()
    low, _specs, top_done = lower_text(data, "fcov_table.sv", top="fcov_table")
    assert top_done
    (work / "t.sv").write_bytes(apply_edits(data, low.edits))
    (work / "pkg.sv").write_text(package_source(uvm=False))
    env = {**os.environ, "VERILATOR_ROOT": str(vl.root)}
    cmd = [
        str(vl.executable), "--binary", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style",
        "--top-module", "fcov_table", "-CFLAGS", "-std=c++20 -fcoroutines -O0",
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", "--Mdir", str(work / "obj"), "-o", "simv",
        str(work / "pkg.sv"), str(work / "t.sv"),
    ]  # fmt: skip
    if shutil.which("ccache"):
        cmd[-2:-2] = ["-MAKEFLAGS", "OBJCACHE=ccache"]
    build = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    out = work / "fcov.json"
    run = subprocess.run(
        [str(work / "obj" / "simv"), f"+dvsmith_fcov={out}", "+verilator+error+limit+100"],
        cwd=work, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    results = load_results(out)
    assert results is not None, run.stdout[-3000:] + run.stderr[-3000:]
    return {"results": results, "log": run.stdout + run.stderr, "lowering": low}


def _by_type(results):  # type -> list of instances
    out: dict[str, list] = {}
    for inst in results.instances:
        out.setdefault(inst.type, []).append(inst)
    return out


@pytest.mark.parametrize("type_name", sorted(EXPECTED))
def test_bin_counts(table_run: dict, type_name: str) -> None:
    insts = _by_type(table_run["results"])[type_name]
    assert len(insts) == 1
    got = {p.name: {b.name: b.hits for b in p.bins} for p in insts[0].points}
    assert got == EXPECTED[type_name]


@pytest.mark.parametrize("type_name", sorted(COVERAGE))
def test_coverage(table_run: dict, type_name: str) -> None:
    inst = _by_type(table_run["results"])[type_name][0]
    assert inst.coverage == pytest.approx(COVERAGE[type_name], abs=1e-3)
    assert inst.computed_coverage() == pytest.approx(COVERAGE[type_name], abs=1e-3)


def test_per_instance_and_printed_values(table_run: dict) -> None:
    insts = _by_type(table_run["results"])["fcov_table::cg_per_inst"]
    assert sorted(i.coverage for i in insts) == [50.0, 100.0]
    assert all(i.per_instance == 1 for i in insts)
    printed = {}
    for line in table_run["log"].splitlines():
        if line.startswith("GC "):
            _, name, value = line.split()
            printed[name] = float(value)
    assert printed == PRINTED


def test_options_reported(table_run: dict) -> None:
    by = _by_type(table_run["results"])
    assert by["fcov_table::cg_goal"][0].goal == 80
    assert by["fcov_table::cg_at_least"][0].points[0].at_least == 2
    assert by["fcov_table::cg_weight"][0].points[0].weight == 3.0


def test_illegal_bin_is_an_error(table_run: dict) -> None:
    assert table_run["log"].count("illegal_bins hit: fcov_table::cg_ignore_illegal.v.il") == 1


def test_unsupported_is_reported_not_scored(table_run: dict) -> None:
    low = table_run["lowering"]
    assert [(u.covergroup, u.what, u.line) for u in low.unsupported] == [
        ("fcov_table::cg_unsupported", "wildcard bins", 115)
    ]
    assert "fcov_table::cg_unsupported" not in _by_type(table_run["results"])
