"""plan + clean + static_check + restore on every fixture repo, through the real analyzer."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from dvsmith.analysis.ingest import analyze_repo
from dvsmith.analysis.profile import Profile
from dvsmith.gym.clean import clean_repo
from dvsmith.gym.clean_models import CleanResult
from dvsmith.gym.plan import TaskPlan, plan_tasks
from dvsmith.gym.restore import restore_for_eval
from dvsmith.gym.static_check import static_check

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NAMES = ["a_class_per_file", "b_single_file", "c_default_seq", "d_two_benches", "e_broken_ref", "f_make_subdir",
         "g_avip_dual_top"]


def _tree(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def _clean(repo: Path, prof: Profile, plans: list[TaskPlan], out: Path) -> CleanResult:
    (out / "gym").mkdir(parents=True)
    (out / "oracle").mkdir()
    return clean_repo(repo, prof, plans, out / "gym", out / "oracle")


@pytest.fixture(params=NAMES)
def fixture_repo(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    src = FIXTURES / request.param
    if not src.is_dir():
        pytest.skip(f"fixture {request.param} not present")
    dest = tmp_path / request.param
    shutil.copytree(src, dest, symlinks=True)
    return dest


def test_fixture_builds_a_clean_gym(fixture_repo: Path, tmp_path: Path) -> None:
    prof, _stats = analyze_repo(fixture_repo)
    plans = plan_tasks(prof)
    assert plans, "every fixture has at least one task"
    before = _tree(fixture_repo)
    res = _clean(fixture_repo, prof, plans, tmp_path / "out")
    assert _tree(fixture_repo) == before
    gym = tmp_path / "out/gym"
    gym_tree = _tree(gym)

    for tc in res.tasks:
        assert tc.oracle_files and tc.files_to_write == tc.oracle_files
        for f in tc.oracle_files:
            assert (tmp_path / "out/oracle" / tc.task_id / f).stat().st_size > 0
    # no removed class name is left anywhere under gym/ (names no kept class shares)
    removed = {c.name for p in plans for c in p.removed_classes}
    kept = {c.name for c in prof.classes} - removed
    for name in sorted(removed - kept):
        rx = re.compile(rb"(?<![A-Za-z0-9_$])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9_$])")
        assert not [f for f, data in gym_tree.items() if rx.search(data)], name

    report = static_check(gym, prof, plans, res)
    assert report.ok, (report.problems, [(t.task_id, t.problems) for t in report.tasks if t.problems])
    assert report.sv_files_parsed > 0

    # round trip: gym + a task's oracle + its references == the repo cleaned of the other tasks only
    for tc in res.tasks:
        others = [p for p in plans if p.id != tc.task_id and p.id not in tc.requires]
        expect = tmp_path / f"expect-{tc.task_id}"
        _clean(fixture_repo, prof, others, expect)
        work = tmp_path / f"work-{tc.task_id}"
        shutil.copytree(gym, work, symlinks=True)
        restore_for_eval(
            work, tc.model_dump(), {f: tmp_path / "out/oracle" / tc.task_id / f for f in tc.files_to_write}
        )
        assert _tree(work) == _tree(expect / "gym"), tc.task_id

    # deterministic: a second clean gives byte-identical trees
    _clean(fixture_repo, prof, plan_tasks(prof), tmp_path / "again")
    assert _tree(tmp_path / "again") == _tree(tmp_path / "out")
