"""Real Verilator: compile the smoke testbench (tests/data/sim/smoke), run its tests, score them.

Needs Verilator, g++, make, perl, z3 and an already provisioned UVM library (UVM_HOME, or dvsmith's
unpacked copy); tests never download it.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import platformdirs
import pytest

from dvsmith.analysis.profile import CompileUnit
from dvsmith.errors import ToolchainError
from dvsmith.sim.base import CompileRequest, RunRequest, get_adapter
from dvsmith.sim.scoring import derive_acceptance, score
from dvsmith.sim.toolchain import UVM_VERSION, ensure_uvm, resolve_toolchain
from dvsmith.sim.verilator import VerilatorAdapter

pytestmark = pytest.mark.sim

SMOKE = Path(__file__).parent / "data" / "sim" / "smoke"
UNIT = CompileUnit(
    name="smoke",
    sources=["rtl/counter.sv", "tb/smoke_if.sv", "tb/smoke_pkg.sv", "tb/tb_top.sv"],
    incdirs=["tb"],
)
# Where a UVM library may already be unpacked (captured before the tests move DVSMITH_HOME).
_OUTER_HOME = os.environ.get("DVSMITH_HOME")
_CANDIDATES = [
    os.environ.get("UVM_HOME"),
    str(Path(_OUTER_HOME) / "cache" / "uvm" / UVM_VERSION) if _OUTER_HOME else None,
    str(Path(platformdirs.user_cache_dir("dvsmith")) / "uvm" / UVM_VERSION),
    "/tmp/uvm",
]


@pytest.fixture
def uvm_home() -> Path:
    for cand in _CANDIDATES:
        if cand and (Path(cand) / "src" / "uvm_pkg.sv").is_file():
            return Path(cand)
    try:
        return ensure_uvm(download=False)  # an installed dv-flow-libhdlsim, no network
    except ToolchainError as exc:
        pytest.skip(f"UVM library not provisioned: {exc}")


@pytest.fixture
def adapter(uvm_home: Path) -> VerilatorAdapter:
    try:
        tc = resolve_toolchain(uvm_home, download_uvm=False)
    except ToolchainError as exc:
        pytest.skip(str(exc))
    return VerilatorAdapter(toolchain=tc)


async def test_compile_run_score_and_cache(adapter: VerilatorAdapter, uvm_home: Path, tmp_path: Path) -> None:
    # g++ on purpose: every other simulation test compiles with clang++ when it is installed (CI installs
    # it), so this one keeps the g++ command compiled and run for real.
    req = CompileRequest(repo_root=SMOKE, unit=UNIT, work_dir=tmp_path / "c1", jobs=2, cxx="gcc")
    # Two identical compiles at once: one build, the other waits and takes the cached binary.
    results = await asyncio.gather(
        adapter.compile(req), adapter.compile(req.model_copy(update={"work_dir": tmp_path / "c1b"}))
    )
    assert all(r.ok for r in results), [r.errors for r in results]
    first, twin = sorted(results, key=lambda r: r.cached)
    assert not first.cached and twin.cached and twin.binary == first.binary
    assert adapter.compiles == 1 and adapter.cache_hits == 1
    assert first.top == "tb_top" and first.cxx == "gcc"
    assert first.binary is not None and first.binary.is_file()

    # The passing test: healthy, started by name, coverage of the repo's code only.
    ok = await adapter.run(RunRequest(binary=first.binary, test="smoke_pass_test", seed=3, work_dir=tmp_path / "r"))
    h = ok.health
    assert ok.exit_code == 0 and not ok.timed_out
    assert h.summary_trusted and h.test_name == "smoke_pass_test" and h.requested_test_found
    assert h.uvm_error == 0 and h.uvm_fatal == 0 and h.finished_by_uvm
    assert ok.coverage is not None and ok.coverage_file is not None
    files = set(ok.coverage.files)
    assert any(f.endswith("rtl/counter.sv") for f in files)
    assert not any(str(uvm_home) in f or "verilated_std" in f for f in files)
    dut = ok.coverage.restrict(["rtl/counter.sv"])
    for metric in ("line", "branch", "toggle", "user"):
        assert (dut.percent(metric) or 0) > 0, metric
    assert dut.percent("user") == 100.0  # the wrap cover property was hit

    # The oracle passes its own acceptance; other runs are graded against it.
    acceptance = derive_acceptance(dut, "verilator", oracle_health=h)
    assert acceptance.require_uvm_finish and acceptance.coverage
    assert score(h, dut, acceptance, "smoke_pass_test", exit_code=ok.exit_code).passed

    fake = await adapter.run(RunRequest(binary=first.binary, test="smoke_fake_test", work_dir=tmp_path / "r"))
    assert fake.health.uvm_error == 1
    graded = score(fake.health, fake.coverage, acceptance, "smoke_fake_test", exit_code=fake.exit_code)
    assert not graded.passed and graded.score == 0.0

    missing = await adapter.run(RunRequest(binary=first.binary, test="no_such_test", work_dir=tmp_path / "r"))
    assert missing.health.invalid_test and not missing.health.test_started

    hang = await adapter.run(
        RunRequest(binary=first.binary, test="smoke_hang_test", timeout_s=3, work_dir=tmp_path / "r")
    )
    assert hang.timed_out and hang.exit_code is None and hang.health.process_timeout
    assert hang.health.test_name == "smoke_hang_test"

    # Identical input: no new compile, the cached binary.
    again = VerilatorAdapter(toolchain=adapter.toolchain())
    second = await again.compile(CompileRequest(repo_root=SMOKE, unit=UNIT, work_dir=tmp_path / "c2", jobs=1,
                                                       cxx="gcc"))  # fmt: skip
    assert second.ok and second.cached and second.key == first.key
    assert second.binary == first.binary
    assert again.compiles == 0 and again.cache_hits == 1


async def test_compile_error_is_a_result(adapter: VerilatorAdapter, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "top.sv").write_text("module top;\n  initial begin\n    undefined_thing = ;\n  end\nendmodule\n")
    req = CompileRequest(
        repo_root=repo, unit=CompileUnit(name="bad", sources=["top.sv"]), work_dir=tmp_path / "c", coverage=False
    )
    result = await adapter.compile(req)
    assert not result.ok and result.binary is None
    assert result.errors and all(e.startswith("%Error") for e in result.errors)
    assert adapter.compiles == 1
    assert result.log.is_file()


async def test_get_adapter_resolves_verilator(uvm_home: Path, tmp_path: Path) -> None:
    adapter = get_adapter("verilator", uvm_home=uvm_home)
    assert isinstance(adapter, VerilatorAdapter)
    assert adapter.toolchain().uvm_home == uvm_home.resolve()
