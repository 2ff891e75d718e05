"""Golden task READMEs of every fixture (built with --provider offline --sim none), and every hint of every
task checked against the profile and the file list, independently of dvsmith.gym.hints.

Regenerate the golden files after an intended change with ``DVSMITH_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import orjson
import pytest

from dvsmith.gym.svtext import is_sv, lex

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
NAMES = ["a_class_per_file", "b_single_file", "c_default_seq", "d_two_benches", "e_broken_ref"]
SECTIONS = ["## Goal", "## What to write", "## What the environment provides", "## How it is selected, run and judged"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from dvsmith.analysis.ingest import ingest
    from dvsmith.gym.build import BuildOptions, run_build

    home = tmp_path_factory.mktemp("golden_home")
    old = os.environ.get("DVSMITH_HOME")
    os.environ["DVSMITH_HOME"] = str(home)
    try:
        outs: dict[str, Path] = {}
        for name in NAMES:
            repo = tmp_path_factory.mktemp("repos") / name
            shutil.copytree(FIXTURES / name, repo)
            ingest(repo, name=name)
            out = tmp_path_factory.mktemp("out") / name
            asyncio.run(run_build(BuildOptions(name=name, out=out, provider="offline", sim="none")))
            outs[name] = out
        return outs
    finally:
        if old is None:
            os.environ.pop("DVSMITH_HOME", None)
        else:
            os.environ["DVSMITH_HOME"] = old


@pytest.mark.parametrize("fixture", NAMES)
def test_task_readmes_match_golden(built: dict[str, Path], fixture: str) -> None:
    tasks = built[fixture] / "tasks"
    got = {p.name: (p / "README.md").read_text() for p in sorted(tasks.iterdir())}
    gdir = GOLDEN / fixture
    if os.environ.get("DVSMITH_UPDATE_GOLDEN") == "1":
        shutil.rmtree(gdir, ignore_errors=True)
        gdir.mkdir(parents=True)
        for tid, text in got.items():
            (gdir / f"{tid}.md").write_text(text)
    want = {p.stem: p.read_text() for p in sorted(gdir.glob("*.md"))}
    assert sorted(got) == sorted(want)
    for tid, text in got.items():
        assert text == want[tid], f"{fixture}/{tid}: README differs from {gdir / (tid + '.md')}"
        # the template: these sections, in this order, and no other top-level section
        heads = [ln for ln in text.splitlines() if ln.startswith("## ")]
        assert [h for h in SECTIONS if h in heads] == heads, heads
        assert heads[:2] == SECTIONS[:2] and heads[-1] == SECTIONS[-1]


def _identifiers(root: Path) -> set[str]:
    out: set[str] = set()
    for p in root.rglob("*"):
        if p.is_file() and is_sv(p.name):
            for t in lex(p.read_bytes()):
                if t.kind == "Identifier":
                    out.add(t.text)
                elif t.kind == "StringLiteral":  # config keys, paths and ids are written as strings
                    out |= set(re.findall(r"[A-Za-z_]\w*", t.text))
    return out


@pytest.mark.parametrize("fixture", NAMES)
def test_every_hint_names_only_what_exists(built: dict[str, Path], fixture: str) -> None:
    out = built[fixture]
    gym_files = {p.relative_to(out / "gym").as_posix() for p in (out / "gym").rglob("*") if p.is_file()}
    names = _identifiers(out / "gym") | _identifiers(out / "oracle")
    for tdir in sorted((out / "tasks").iterdir()):
        task = orjson.loads((tdir / "task.json").read_bytes())
        files = set(task["files_to_write"]) | gym_files
        file_of = {c["name"]: c["file"] for c in task["spec"]["classes_to_write"]}
        assert 3 <= len(task["hints"]) <= 5
        for hint in task["hints"]:
            for chunk in re.findall(r"`([^`]+)`", hint):
                if "/" in chunk or chunk.endswith((".sv", ".svh")):
                    assert chunk in files, (tdir.name, hint)
                    continue
                for word in re.findall(r"[A-Za-z_]\w*", chunk):
                    if word.startswith(("uvm_", "UVM_")) or word.endswith("_phase") or word == "type_id":
                        continue
                    if not ("_" in word or word[0].isupper()):
                        continue
                    assert word in names, (tdir.name, hint, word)
            assert not re.search(r"cover(group|point)", hint, re.I), (tdir.name, hint)  # not scored here
            if re.search(r"\b(before|after)\b", hint):
                named = {file_of[w] for w in re.findall(r"\w+", hint) if w in file_of}
                assert len(named) <= 1, (tdir.name, hint)
        # every sequence the test starts is named, with its sequencer, in the README
        readme = (tdir / "README.md").read_text()
        for s in task["spec"]["starts"]:
            assert f"`{s['sequence']}`" in readme and (not s["sequencer"] or f"`{s['sequencer']}`" in readme)
        for cs in task["spec"]["config_sets"]:
            assert f"`{cs['key']}`" in readme
