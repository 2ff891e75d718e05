"""Shared pytest set-up: every test gets its own DVSMITH_HOME and no real API key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("dvsmith_home")
    monkeypatch.setenv("DVSMITH_HOME", str(home))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    yield home


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


pytest_plugins = ["tests.fakeapi", "tests.simkit"]  # fake_api; get (shared simulated fixture builds)


def _find_uvm_home() -> Path | None:
    for cand in (os.environ.get("UVM_HOME"), "/tmp/uvm"):
        if cand and (Path(cand) / "src" / "uvm_pkg.sv").is_file():
            return Path(cand)
    from dvsmith.errors import ToolchainError
    from dvsmith.sim.toolchain import ensure_uvm

    try:
        return ensure_uvm(download=False)  # an unpacked copy or an installed dv-flow-libhdlsim; no network
    except ToolchainError:
        return None


@pytest.fixture(scope="session")
def sim_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for simulation tests run through the CLI: one DVSMITH_HOME for the whole session (so
    compiles are shared through the compile cache) and UVM_HOME. Skips when the toolchain is missing,
    unless DVSMITH_REQUIRE_SIM=1 (CI), where a missing toolchain is a failure."""
    from dvsmith.errors import ToolchainError
    from dvsmith.sim.toolchain import resolve_toolchain

    uvm = _find_uvm_home()
    problem = None if uvm is not None else "UVM library not provisioned (run ./scripts/test.sh, or set UVM_HOME)"
    if problem is None:
        try:
            resolve_toolchain(uvm, download_uvm=False)
        except ToolchainError as exc:
            problem = str(exc)
    if problem is not None:
        if os.environ.get("DVSMITH_REQUIRE_SIM") == "1":
            pytest.fail(f"simulation required but unavailable: {problem}")
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("sim_home")
    return {"DVSMITH_HOME": str(home), "UVM_HOME": str(uvm), "DVSMITH_COMPILE_LOG": str(COMPILE_LOG)}


# Every real Verilator compile of the session (in this process or a CLI subprocess) appends a line here.
COMPILE_LOG = Path(os.environ.get("DVSMITH_TEST_COMPILE_LOG") or f"/tmp/dvsmith-test-compiles-{os.getpid()}.jsonl")
os.environ["DVSMITH_COMPILE_LOG"] = str(COMPILE_LOG)


def session_compiles() -> list[dict]:
    import orjson

    if not COMPILE_LOG.is_file():
        return []
    return [orjson.loads(line) for line in COMPILE_LOG.read_bytes().splitlines() if line.strip()]


def pytest_sessionstart(session: pytest.Session) -> None:
    COMPILE_LOG.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    compiles = session_compiles()
    seconds = sum(c["seconds"] for c in compiles)
    failed = sum(1 for c in compiles if not c["ok"])
    terminalreporter.write_line(
        f"dvsmith: {len(compiles)} Verilator compiles in this session, {seconds:.0f} s in all ({failed} failed)"
    )
