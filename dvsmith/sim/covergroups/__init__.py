"""Functional coverage under Verilator: covergroups lowered into code Verilator runs, measured, scored.

* ``lower_tree`` / ``lower_text`` (``lower.py``): covergroups -> classes on ``dvsmith_fcov_pkg``
  (``runtime.py``), built by ``extract.py`` (pyslang syntax -> spec) and ``emit.py`` (spec -> SV).
* ``results.py``: the JSON a run writes (``+dvsmith_fcov=PATH``) -> ``FcovResults``; functional targets
  and scores per covergroup.
"""

from dvsmith.sim.covergroups.lower import PACKAGE_FILE, apply_edits, lower_text, lower_tree
from dvsmith.sim.covergroups.model import FcovResults, LoweringResult, Unsupported
from dvsmith.sim.covergroups.runtime import PACKAGE_NAME, PLUSARG, package_source

__all__ = [
    "PACKAGE_FILE",
    "PACKAGE_NAME",
    "PLUSARG",
    "FcovResults",
    "LoweringResult",
    "Unsupported",
    "apply_edits",
    "lower_text",
    "lower_tree",
    "package_source",
]
