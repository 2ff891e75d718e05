"""Task facts (dvsmith.gym.spec_extract), hints checked against them, measured difficulty, trivial tasks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dvsmith.analysis.ingest import analyze_repo
from dvsmith.analysis.profile import Profile
from dvsmith.gym.difficulty import EASY_BELOW, HARD_FROM, features_of, label_of
from dvsmith.gym.hints import check_hint, check_hints, fact_hints, hint_facts
from dvsmith.gym.plan import plan_tasks
from dvsmith.gym.spec import TaskSpec
from dvsmith.gym.taskfacts import extract_specs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FACTS_REPO = Path(__file__).resolve().parent / "data" / "facts_repo"


def _specs(repo: Path) -> tuple[Profile, dict[str, TaskSpec]]:
    prof, _ = analyze_repo(repo)
    return prof, extract_specs(prof, repo, plan_tasks(prof))


@pytest.fixture(scope="module")
def facts_repo() -> tuple[Profile, dict[str, TaskSpec]]:
    return _specs(FACTS_REPO)


def test_virtual_sequence_and_its_sub_sequences(tmp_path: Path) -> None:
    _, specs = _specs(FIXTURES / "a_class_per_file")
    spec = specs["random_test"]
    first, *nested = spec.starts
    assert (first.sequence, first.sequencer, first.sequencer_type, first.how, first.must_write) == (
        "random_vseq", "env.vsqr", "reg_vsequencer", "start", True)
    by_seq = {s.sequence: s for s in nested}
    rand = by_seq["apb_rand_seq"]  # `uvm_do(rseq, p_sequencer.apb_sqr): UVM 2017's sequencer argument
    assert (rand.started_by, rand.sequencer, rand.sequencer_type, rand.how, rand.must_write) == (
        "random_vseq", "p_sequencer.apb_sqr", "apb_sequencer", "uvm_do_on", True)
    read = by_seq["apb_read_seq"]
    assert read.must_write is False and read.settings == ["rd.addr = 4'(a)"]
    assert {c.name for c in spec.classes_to_write} == {"random_test", "random_vseq", "apb_rand_seq"}
    assert spec.provides.virtual_sequencers == ["reg_vsequencer"]
    # sequences other tasks remove are not "provided by the gym"
    assert "status_vseq" not in spec.provides.base_sequences
    assert "apb_read_seq" in spec.provides.base_sequences


def test_default_sequence_inherited_starts_and_constructor_knobs() -> None:
    _, specs = _specs(FIXTURES / "c_default_seq")
    d = specs["default_seq_test"].starts[0]
    assert (d.sequence, d.how, d.sequencer, d.phase, d.sequencer_type, d.method) == (
        "wrap_seq", "default_sequence", "env.agt.sqr", "main_phase", "cnt_sequencer", "build_phase")
    cs = specs["default_seq_test"].config_sets[0]
    assert (cs.type, cs.path, cs.key, cs.value) == (
        "uvm_object_wrapper", "env.agt.sqr.main_phase", "default_sequence", "wrap_seq::type_id::get()")
    long = specs["count_long_test"]
    assert long.starts == [] and long.inherited_starts == ["count_up_seq"]
    assert long.constructor_sets == ["n_cycles = 40"] and not long.trivial  # a knob is a behaviour
    # a task that requires another one writes its classes too
    assert "count_up_test" in {c.name for c in long.classes_to_write}


def test_every_fact_kind(facts_repo: tuple[Profile, dict[str, TaskSpec]]) -> None:
    _, specs = facts_repo
    spec = specs["f_full_test"]
    top, leaf = spec.starts
    assert (top.sequence, top.sequencer, top.sequencer_type, top.settings) == (
        "f_top_seq", "env.sqr", "f_sequencer", ["top.n = loops"])
    assert (leaf.sequence, leaf.started_by, leaf.how, leaf.must_write) == ("f_leaf_seq", "f_top_seq", "uvm_do", True)
    [cs] = spec.config_sets
    assert (cs.type, cs.path, cs.key, cs.value, cs.read_by_env) == ("int unsigned", "env", "n_items", "7", ["f_env"])
    [ov] = spec.overrides
    assert (ov.kind, ov.original, ov.override) == ("type", "f_base_seq", "f_leaf_seq")
    assert {(p.name, p.how) for p in spec.plusargs} == {("LOOPS", "value_plusargs"), ("VERBOSE", "test_plusargs")}
    [d] = spec.defines  # the file's include guard is no define the test needs
    assert (d.name, d.directive, d.defined_by_build) == ("FACTS_FULL", "ifdef", True)
    assert spec.objections.raised == spec.objections.dropped == 1
    assert spec.objections.drain_times == ["50ns"]
    assert {(r.op, r.reg, r.field) for r in spec.reg_accesses} == {("write", "CTRL", "EN"), ("mirror", "STAT", None)}
    outputs = {(o.kind, o.id or o.text): o.checked_in for o in spec.outputs}
    assert outputs[("$display", "TEST PASSED")] == ["Makefile"]  # the make target greps it
    assert outputs[("uvm_info", "FULL")] == []  # "FACTS_FULL" is not the word FULL
    assert outputs[("uvm_info", "loops=%0d")] == []  # a computed id is left empty; the format string is the text
    assert spec.provides.reg_blocks == ["f_regs"]
    assert {g["key"] for g in spec.provides.config_gets} == {"n_items"}
    assert not spec.trivial and not spec.calls_finish


def test_empty_subclass_is_trivial(facts_repo: tuple[Profile, dict[str, TaskSpec]]) -> None:
    _, specs = facts_repo
    assert specs["f_empty_test"].trivial and "empty subclass" in (specs["f_empty_test"].trivial_reason or "")
    nontrivial = [tid for tid, s in specs.items() if s.trivial and tid != "f_empty_test"]
    assert nontrivial == []
    for name in ("a_class_per_file", "b_single_file", "c_default_seq", "d_two_benches", "e_broken_ref"):
        _, fx = _specs(FIXTURES / name)
        assert not [t for t, s in fx.items() if s.trivial], name


# ---------------------------------------------------------------------------- hints


def _hf(profile: Profile, spec: TaskSpec, *, scored: bool = False) -> object:
    files = [c.file for c in spec.classes_to_write]
    return hint_facts(profile, spec, files, files, functional_scored=scored)


def test_hint_rules() -> None:
    prof, specs = _specs(FIXTURES / "a_class_per_file")
    spec = specs["random_test"]
    hf = _hf(prof, spec)
    ok = [
        "Start `random_vseq` on `env.vsqr` from run_phase.",
        "Extend `base_test` and register it with `uvm_component_utils`.",
        "Keep the `#20` wait before dropping the objection.",
    ]
    for h in ok:
        assert check_hint(h, hf) is None, h
    bad = {
        "Start `ghost_seq` on the APB sequencer.": "not in the profile",
        "`random_vseq` no longer exists in the gym: declare it before the test that starts it.": "different files",
        "Aim at the coverpoints of `apb_access_cg` (cp_addr, cp_dir).": "functional coverage is not scored",
        "Hit every bin of the covergroup.": "functional coverage is not scored",
        "The test starts `base_test` first.": "parent class",
        "Start `status_vseq` on `env.vsqr`.": "does not start it",
        "Start `apb_rand_seq` from run_phase.": "starts it in body",
        "Put the test in `tb/test/nowhere.svh`.": "neither in gym/",
    }
    for h, why in bad.items():
        reason = check_hint(h, hf)
        assert reason is not None and why in reason, (h, reason)
    kept, dropped = check_hints([*ok, *bad], hf)
    assert kept == ok and len(dropped) == len(bad)
    # with functional coverage scored, a covergroup hint may stay
    assert check_hint("Aim at the coverpoints of `apb_access_cg`.", _hf(prof, spec, scored=True)) is None


def test_fact_hints_pass_their_own_check(facts_repo: tuple[Profile, dict[str, TaskSpec]]) -> None:
    for repo in (FIXTURES / "a_class_per_file", FIXTURES / "c_default_seq", FACTS_REPO):
        prof, specs = _specs(repo)
        for tid, spec in specs.items():
            hf = _hf(prof, spec)
            for h in fact_hints(spec):
                assert check_hint(h, hf) is None, (tid, h, check_hint(h, hf))


# ---------------------------------------------------------------------------- difficulty


def test_difficulty_is_measured() -> None:
    _, specs = _specs(FIXTURES / "b_single_file")
    f = features_of(specs["random_test"])
    assert (f.classes_to_write, f.sequences_to_write, f.sequences_started, f.sequencers, f.constraint_blocks) == (
        2, 1, 2, 1, 1)
    assert f.config_knobs == 1  # fill.n = 2
    expected = f.lines_to_write / 40 + 1 + 1.5 * 2 + 0.5 + 1 + 0.5
    assert f.score == pytest.approx(expected, abs=1e-3)
    assert f.label == label_of(f.score)
    g = features_of(specs["random_test"], {"line": 30.0, "toggle": 5.0})
    assert g.coverage_over_base_max == 30.0 and g.score == pytest.approx(f.score + 3.0, abs=1e-3)
    assert label_of(EASY_BELOW - 0.01) == "easy" and label_of(EASY_BELOW) == "medium"
    assert label_of(HARD_FROM) == "hard" and label_of(50, trivial=True) == "easy"


# ---------------------------------------------------------------------------- build: trivial tasks


def _with_empty_test(tmp_path: Path) -> Path:
    """b_single_file plus one empty subclass of its base test (a derived fixture; the shared one is untouched)."""
    repo = tmp_path / "b_trivial"
    shutil.copytree(FIXTURES / "b_single_file", repo)
    f = repo / "tb" / "fifo_tests.sv"
    text = f.read_text()
    empty = (
        "  class empty_test extends fifo_base_test;\n    `uvm_component_utils(empty_test)\n\n"
        "    function new(string name, uvm_component parent);\n      super.new(name, parent);\n"
        "    endfunction\n  endclass\nendpackage"
    )
    f.write_text(text.replace("endpackage", empty, 1) if text.count("endpackage") == 1 else text)
    assert "empty_test" in f.read_text()
    return repo


async def _build(repo: Path, out: Path, **kw: object) -> object:
    from dvsmith.analysis.ingest import ingest
    from dvsmith.gym.build import BuildOptions, run_build

    ingest(repo, name=repo.name)
    return await run_build(BuildOptions(name=repo.name, out=out, provider="offline", sim="none", **kw))


async def test_trivial_task_left_out_by_default_and_kept_on_request(tmp_path: Path) -> None:
    import orjson

    repo = _with_empty_test(tmp_path)
    report = await _build(repo, tmp_path / "out")
    assert [s["test"] for s in report.skipped_trivial] == ["empty_test"]  # type: ignore[attr-defined]
    assert not (tmp_path / "out/tasks/empty_test").exists()
    assert "class empty_test" in (tmp_path / "out/gym/tb/fifo_tests.sv").read_text()  # stays, like a base test
    assert {p.name for p in (tmp_path / "out/tasks").iterdir()} == {"fill_drain_test", "overflow_test", "random_test"}
    assert report.ok  # type: ignore[attr-defined]
    from dvsmith.gym.validate import revalidate

    again = await revalidate(tmp_path / "out")
    assert again.ok and not again.static_problems, again.static_problems

    kept = await _build(repo, tmp_path / "out2", keep_trivial=True)
    assert kept.skipped_trivial == []  # type: ignore[attr-defined]
    task = orjson.loads((tmp_path / "out2/tasks/empty_test/task.json").read_bytes())
    assert task["trivial"] is True and task["spec"]["trivial"] is True and task["difficulty"] == "easy"
    assert "flagged trivial" in (tmp_path / "out2/tasks/empty_test/README.md").read_text()
    assert "class empty_test" not in (tmp_path / "out2/gym/tb/fifo_tests.sv").read_text()


# ---------------------------------------------------------------------------- the AI answer held to the facts


def test_ai_answer_is_held_to_the_facts(tmp_path: Path) -> None:
    from dvsmith.gym.models import Task
    from dvsmith.gym.taskfacts import apply_facts

    repo = FIXTURES / "a_class_per_file"
    prof, specs = _specs(repo)
    spec = specs["status_test"]
    gym = tmp_path / "gym"
    (gym / "tb/test").mkdir(parents=True)
    (gym / "tb/test/base_test.svh").write_text("")
    task = Task(
        id="status_test", test_name="status_test", title="Status", difficulty="hard",
        difficulty_reason="Many register accesses.", description="d", goal="g",
        hints=[
            "Start `status_vseq` on `env.vsqr`.",
            "Declare `status_vseq` before the test that starts it.",  # different files
            "Aim at the coverpoints of `apb_access_cg`.",  # not scored
            "The test starts `base_test` first.",  # a parent
            "Use `magic_vseq` for the reads.",  # does not exist
        ],
        sequences=["status_vseq", "base_test", "random_vseq"],
        files_to_write=["tb/seq/status_vseq.svh", "tb/test/status_test.svh"], metadata_source="anthropic",
    )
    apply_facts(task, spec, prof, repo, gym)
    assert task.hints[0] == "Start `status_vseq` on `env.vsqr`."
    assert len(task.hints_dropped) == 4 and 3 <= len(task.hints) <= 5
    assert task.sequences == ["status_vseq"]  # random_vseq exists but this test does not start it
    assert task.difficulty == task.difficulty_features.label  # type: ignore[union-attr]
    assert task.difficulty_reason.startswith("Many register accesses.")
    assert "the AI judged it hard" in task.difficulty_reason or task.difficulty == "hard"


def test_prompt_carries_the_facts() -> None:
    from dvsmith.ai.context import MetadataRequest, SourceReader, build_context
    from dvsmith.ai.prompts import INSTRUCTIONS, task_message
    from dvsmith.gym.taskfacts import facts_lines

    repo = FIXTURES / "a_class_per_file"
    prof, specs = _specs(repo)
    facts = facts_lines(specs["random_test"])
    req = MetadataRequest(task_id="random_test", test_name="random_test", test_file="tb/test/random_test.svh",
                          facts=facts)
    msg = task_message(build_context(prof, SourceReader(repo), req), 4000)
    assert "Facts (read from the source by a parser; authoritative):" in msg
    assert "- random_vseq starts apb_rand_seq on p_sequencer.apb_sqr (an apb_sequencer) via uvm_do_on" in msg
    assert "never contradict them" in INSTRUCTIONS


def test_cli_keep_trivial(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import orjson

    repo = _with_empty_test(tmp_path)

    def run(*args: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "dvsmith", *args, "--json"], capture_output=True, text=True,
                              env=dict(os.environ), timeout=600)
        assert proc.returncode == 0, proc.stderr
        return orjson.loads(proc.stdout)

    run("ingest", str(repo))
    out = tmp_path / "cli-out"
    report = run("build", repo.name, "--out", str(out), "--provider", "offline", "--sim", "none", "--keep-trivial")
    assert report["skipped_trivial"] == [] and (out / "tasks/empty_test/task.json").is_file()
