"""restore_combined + merge_versions: every task's oracle and references restored together give back the
original compiled files (so `eval --combine` of all oracles needs one compile per unit, or none)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dvsmith.analysis.ingest import analyze_repo
from dvsmith.gym.clean import clean_repo
from dvsmith.gym.plan import plan_tasks
from dvsmith.gym.restore import merge_versions, restore_combined

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize("name", ["a_class_per_file", "b_single_file", "c_default_seq", "d_two_benches"])
def test_all_oracles_together_rebuild_the_original(name: str, tmp_path: Path) -> None:
    profile, _ = analyze_repo(FIXTURES / name, use_cache=False, write_cache=False)
    plans = plan_tasks(profile)
    gym, oracle = tmp_path / "gym", tmp_path / "oracle"
    gym.mkdir()
    oracle.mkdir()
    result = clean_repo(FIXTURES / name, profile, plans, gym, oracle)
    for unit in profile.compile_units:
        tasks = [c for c, p in zip(result.tasks, plans, strict=True) if p.test.compile_unit == unit.name]
        work = tmp_path / f"work-{unit.name}"
        shutil.copytree(gym, work)
        versions: dict[str, list[bytes]] = {}
        for c in tasks:
            for rel in c.oracle_files:
                versions.setdefault(rel, []).append((oracle / c.task_id / rel).read_bytes())
        files: dict[str, Path] = {}
        for rel, datas in versions.items():
            base = (gym / rel).read_bytes() if (gym / rel).is_file() else None
            merged = merge_versions(base, datas)
            assert merged is not None, rel
            files[rel] = tmp_path / "merged" / unit.name / rel
            files[rel].parent.mkdir(parents=True, exist_ok=True)
            files[rel].write_bytes(merged)
        compiled = set(unit.files) | set(unit.sources)
        restore_combined(work, tasks, files, compiled)
        for rel in sorted(compiled):
            original = (FIXTURES / name / rel).read_bytes()
            if len(set(versions.get(rel, []))) > 1:
                # several tasks write this file: their additions are merged in task order (compiling
                # checks the result); nothing that is not in the original appears
                assert set((work / rel).read_bytes().splitlines()) <= set(original.splitlines()), rel
                continue
            assert (work / rel).read_bytes() == original, rel


def test_merge_versions() -> None:
    base = b"a\nb\n"
    assert merge_versions(base, [b"a\nx\nb\n", b"a\nb\ny\n"]) == b"a\nx\nb\ny\n"
    assert merge_versions(base, [b"a\nx\nb\n", b"a\nx\nb\n"]) == b"a\nx\nb\n"
    assert merge_versions(base, [b"a\nx\nb\n", b"b\n"]) is None  # a version that deletes a base line
    assert merge_versions(None, [b"x\n", b"y\n"]) is None
