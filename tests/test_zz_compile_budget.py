"""The suite's compile budget: the simulation tests share compiles (session-scoped fixture builds, the
content-keyed compile cache, grouped evals), and this count is what keeps CI fast. Runs last (file order).

The budget is a count, not a time: raise it only together with the test that needs the new compile, and
say why in that test.
"""

from __future__ import annotations

import pytest

from tests.conftest import session_compiles

pytestmark = pytest.mark.sim

# Where the compiles of a full run go (gym + original per compile unit of each fixture build, plus the
# eval trees that differ from both): see the README "Tests" section for the list.
COMPILE_BUDGET = 22


def test_suite_compile_count_within_budget(sim_env: dict[str, str]) -> None:
    compiles = session_compiles()
    assert len(compiles) <= COMPILE_BUDGET, f"{len(compiles)} compiles (budget {COMPILE_BUDGET}): " + ", ".join(
        f"{c['unit']} {c['seconds']:.0f}s" for c in compiles
    )
