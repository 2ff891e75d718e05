"""The solver wrapper (sim/solver.py): z3's replies reach Verilator unchanged, its error replies are also
logged, and a run killed at the time limit after such a reply names it as the cause. Uses the real z3 of
the z3-solver package; no Verilator compile."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from dvsmith.gym.models import Acceptance
from dvsmith.sim.scoring import health_reasons
from dvsmith.sim.solver import SOLVER_SCRIPT, read_solver_errors, solver_env
from dvsmith.sim.toolchain import find_z3
from dvsmith.sim.uvmlog import LogHealth

# what Verilator 5.049 sent for a class whose rand enum members it forgot to declare (seen on
# Practical-UVM's wb_config): z3 answers the asserts on undeclared names with errors, then "sat"
QUERY = (
    "(set-logic QF_ABV)\n(check-sat)\n(reset)\n(set-option :produce-models true)\n(set-logic QF_ABV)\n"
    "(declare-fun max_addr () (_ BitVec 32))\n"
    "(assert (= #b1 (ite (bvsle granularity port_size) #b1 #b0)))\n"
    "(assert (= max_addr #x00fffffe))\n(check-sat)\n(get-value (max_addr))\n"
)


@pytest.fixture
def z3() -> Path:
    found = find_z3()
    if found is None:
        pytest.skip("z3 not installed")
    return found


def _through_wrapper(z3: Path, log: Path) -> str:
    env = solver_env(z3, log)
    assert set(env) == {"VERILATOR_SOLVER", "DVSMITH_Z3", "DVSMITH_SOLVER_LOG"}
    argv = env["VERILATOR_SOLVER"].split(" ")  # as Verilator splits it
    assert argv[:2] == ["/bin/sh", str(SOLVER_SCRIPT)]
    out = subprocess.run(argv, input=QUERY, capture_output=True, text=True, env=env, timeout=60, check=True)
    return out.stdout


def test_replies_pass_unchanged_and_errors_are_logged(z3: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.solver-errors.log"
    got = _through_wrapper(z3, log)
    direct = subprocess.run([str(z3), "--in"], input=QUERY, capture_output=True, text=True, timeout=60).stdout
    assert got == direct  # the wrapper changes nothing Verilator reads
    assert got.splitlines()[0] == "sat" and "unknown constant granularity" in got
    errors = read_solver_errors(log)
    assert errors and all(e.startswith("(error") for e in errors)
    assert "granularity" in errors[0]
    assert "max_addr" not in log.read_text()  # only error replies are logged


def test_no_errors_no_log(z3: Path, tmp_path: Path) -> None:
    log = tmp_path / "ok.log"
    env = solver_env(z3, log)
    query = "(set-logic QF_ABV)\n(declare-fun a () (_ BitVec 8))\n(assert (= a #x03))\n(check-sat)\n"
    out = subprocess.run(shlex.split(env["VERILATOR_SOLVER"]), input=query, capture_output=True, text=True,
                         env=env, timeout=60, check=True)  # fmt: skip
    assert out.stdout.strip() == "sat"
    assert not log.exists() and read_solver_errors(log) == []


def test_no_z3_leaves_verilator_default(tmp_path: Path) -> None:
    assert solver_env(None, tmp_path / "x.log") == {}


def test_time_limit_reason_names_the_solver_error() -> None:
    health = LogHealth(test_started=True, test_name="t", process_timeout=True, last_report_time="215000",
                       solver_errors=['(error "line 12 column 29: unknown constant granularity")'])  # fmt: skip
    reasons = health_reasons(health, Acceptance(), "t")
    first = reasons[0]
    assert "time limit" in first and "215000" in first
    assert "constraint solver rejected a randomize() query" in first and "granularity" in first
    plain = health_reasons(health.model_copy(update={"solver_errors": []}), Acceptance(), "t")[0]
    assert "solver" not in plain
