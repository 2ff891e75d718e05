"""The suite's compile budget: the simulation tests share compiles (session-scoped fixture builds, the
content-keyed compile cache, grouped evals), and this count is what keeps CI fast. Runs last (file order).

The budget is a count, not a time: raise it only together with the test that needs the new compile, and
say why in that test.
"""

from __future__ import annotations

import pytest

from tests.conftest import session_compiles

pytestmark = pytest.mark.sim

# Where the compiles of a full run go (measured: 29): gym + original per compile unit of the fixture builds
# a, b, c, d (two units), f, g = 14, plus g's two first compiles that fail inside Verilator with FSM
# coverage and are redone without it = 16 (e_broken_ref is not simulated: its broken-reference pattern is
# f's borrow_test); the eval trees that differ from both: b, c and d's second unit with every oracle
# combined (3), f's two valid oracles combined, rewritten at eval as the build rewrote the original (1), a's
# status_test oracle alone (1, shared by the Harbor and Ray tests), the runtime red-team batch (1), the
# covergroup scenario test (1) = 23; the smoke bench (its second compile is a cache hit) and its broken
# compile (2) = 25; `dvsmith doctor REPO` on the missing-include bench, twice (JSON and table), original and
# gym each stopping in Verilator's front end within a second (4) = 29. Not counted (they
# are not dvsmith compiles): test_recipes' two-top non-UVM handshake binary for vif_method_write_triggers
# (~20 s) and the lint-only snippets.
COMPILE_BUDGET = 29


def test_suite_compile_count_within_budget(sim_env: dict[str, str]) -> None:
    compiles = session_compiles()
    assert len(compiles) <= COMPILE_BUDGET, f"{len(compiles)} compiles (budget {COMPILE_BUDGET}): " + ", ".join(
        f"{c['unit']} {c['seconds']:.0f}s" for c in compiles
    )
