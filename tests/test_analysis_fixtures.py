"""Ingest of the fixture testbenches, compared field by field with their hand-written expected profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dvsmith.analysis.ingest import analyze_repo
from dvsmith.analysis.profile import Profile

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECTED = sorted(FIXTURES.glob("*.expected.json"))

_CLASS_LISTS = (
    "tests",
    "sequences",
    "sequence_items",
    "agents",
    "envs",
    "drivers",
    "monitors",
    "scoreboards",
    "sequencers",
    "covergroups",
    "packages",
    "interfaces",
    "modules",
)
_ORDER_FREE = {"sequences", "coverpoints", "crosses"}  # lists compared as sets inside an entry


def _norm(value: Any, key: str) -> Any:
    if isinstance(value, list) and key in _ORDER_FREE:
        return sorted(value)
    return value


def compare(profile: Profile, expected: dict[str, Any]) -> list[str]:
    """Differences between a profile and an expected file ("where: got ... expected ...")."""
    got = profile.model_dump(mode="json")
    out: list[str] = []
    for section in _CLASS_LISTS:
        if section not in expected:
            continue
        have = {(e["name"], e["file"]): e for e in got[section]}
        want = {(e["name"], e["file"]): e for e in expected[section]}
        for key in sorted(set(want) - set(have)):
            out.append(f"{section}: missing {key}")
        for key in sorted(set(have) - set(want)):
            out.append(f"{section}: unexpected {key}")
        for key in sorted(set(have) & set(want)):
            for field, value in want[key].items():
                if _norm(have[key].get(field), field) != _norm(value, field):
                    out.append(f"{section} {key[0]}.{field}: got {have[key].get(field)!r} expected {value!r}")
    build = expected.get("build", {})
    for field, value in build.items():
        mine = got["build"].get(field)
        if isinstance(value, list):
            mine, value = sorted(mine or []), sorted(value)
        if mine != value:
            out.append(f"build.{field}: got {mine!r} expected {value!r}")
    for unit in expected.get("sim", {}).get("compile_units", []):
        hits = [u for u in profile.compile_units if u.filelist == unit.get("filelist")]
        if len(hits) != 1:
            out.append(f"compile unit for {unit}: found {len(hits)}")
        elif unit.get("top") and hits[0].top_modules[:1] != [unit["top"]]:
            out.append(f"compile unit {hits[0].name}: tops {hits[0].top_modules} expected {unit['top']}")
        else:
            u = hits[0]
            if "top_modules" in unit and u.top_modules != unit["top_modules"]:
                out.append(f"compile unit {u.name}: top_modules {u.top_modules} expected {unit['top_modules']}")
            if "uvm_flavour" in unit and u.uvm_flavour != unit["uvm_flavour"]:
                out.append(f"compile unit {u.name}: uvm_flavour {u.uvm_flavour} expected {unit['uvm_flavour']}")
            recipe = u.recipe.model_dump(mode="json") if u.recipe else {}
            for field, value in unit.get("recipe", {}).items():
                if recipe.get(field) != value:
                    out.append(f"compile unit {u.name}: recipe.{field} {recipe.get(field)!r} expected {value!r}")
    return out


@pytest.mark.parametrize("expected_file", EXPECTED, ids=[p.name.split(".")[0] for p in EXPECTED])
def test_fixture_profile_matches_expected(expected_file: Path) -> None:
    expected = json.loads(expected_file.read_text())
    repo = FIXTURES / expected_file.name.split(".")[0]
    profile, stats = analyze_repo(repo)
    assert stats.files_parsed == stats.files_total
    assert compare(profile, expected) == []
    # every test of the fixture belongs to a compile unit that holds its file
    for t in profile.tests:
        if t.in_build:
            unit = next(u for u in profile.compile_units if u.name == t.compile_unit)
            assert t.file in unit.files


def test_compare_reports_differences() -> None:
    expected_file = next(iter(EXPECTED), None)
    if expected_file is None:
        pytest.skip("no expected fixture files")
    expected = json.loads(expected_file.read_text())
    profile, _ = analyze_repo(FIXTURES / expected_file.name.split(".")[0])
    broken = json.loads(json.dumps(expected))
    broken["tests"][0]["line"] += 1
    broken["build"]["kind"] = "none"
    diffs = compare(profile, broken)
    assert len(diffs) == 2 and "line" in diffs[0] and "build.kind" in diffs[1]
