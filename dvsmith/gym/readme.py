"""The README an agent reads (tasks/ID/README.md): one template, built from task.json.

Sections, in this order and nothing else: the goal; what to write (files, classes, sequences and where
they are included, what the reference configures, checked hints); what the environment provides
(sequencers, sequences, config keys it reads, register model); how the test is selected, run and judged
(health gate, ``require_uvm_finish``, timeout, seeds, coverage targets). Everything except the title,
description, goal and hints comes from the facts (``task.spec``), not from the AI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dvsmith.gym.hints import article

if TYPE_CHECKING:
    from dvsmith.gym.models import Task
    from dvsmith.gym.spec import SequenceStart, TaskSpec


def _q(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _start_line(s: SequenceStart, spec: TaskSpec) -> str:
    where = f"on `{s.sequencer}`" if s.sequencer else "on the sequencer it runs on itself"
    if s.sequencer_type:
        where += f" ({article(s.sequencer_type)} `{s.sequencer_type}`)"
    if s.how == "default_sequence":
        how = f"as the `default_sequence` of `{s.phase or 'a phase'}` (uvm_config_db, in {s.method})"
    elif s.how in ("uvm_do", "uvm_do_on"):
        how = f"with `` `uvm_do `` in {s.method}"
    else:
        how = f"with `start()` in {s.method}"
    who = f"sends items `{s.sequence}`" if s.kind == "item" else f"starts `{s.sequence}`"
    owner = "" if s.kind != "sequence" else (
        " — you write it" if s.must_write else " — provided by the gym"
    )
    extra = f"; before that it sets {_q(s.settings)}" if s.settings else ""
    by = "The test" if s.started_by == spec.test else f"`{s.started_by}`"
    return f"- {by} {who} {where}, {how}{owner}{extra}."


def _write_section(task: Task) -> list[str]:
    spec = task.spec
    lines = ["## What to write", ""]
    head = f"Write the UVM test class `{task.test_name}`"
    if task.base_class:
        head += f", extending `{task.base_class}`"
    lines.append(head + ", and register it with the factory (`` `uvm_component_utils ``).")
    if spec is not None and spec.test_methods:
        lines.append(f"The reference defines {_q(spec.test_methods)}.")
    if spec is not None and spec.constructor_sets:
        lines.append(f"Its constructor sets {_q(spec.constructor_sets)}.")
    if task.requires:
        lines += ["", f"It extends a test that is itself a task ({_q(task.requires)}): that class was removed too, "
                  "and you write it as well."]
    if spec is not None and len(spec.classes_to_write) > 1:
        lines += ["", "Classes to write:", ""]
        for c in spec.classes_to_write:
            ext = f", extends `{c.base_class}`" if c.base_class else ""
            lines.append(f"- `{c.name}` ({c.kind}{ext}) in `{c.file}`")
    lines += ["", "Files you write (paths inside `gym/`; nothing else may change):", ""]
    lines += [f"- `{p}`" for p in task.files_to_write]
    lines += [
        "",
        "If a file above does not exist in `gym/`, create it; the grader puts back the `include line, filelist",
        "entry or test-list entry that compiles it. If it exists, keep what is already in it and add your code.",
    ]
    if spec is not None:
        top = [s for s in spec.starts if s.started_by == spec.test]
        nested = [s for s in spec.starts if s.started_by != spec.test]
        if top or nested:
            lines += ["", "### Stimulus", ""]
            lines += [_start_line(s, spec) for s in top]
            lines += [_start_line(s, spec) for s in nested]
        if spec.inherited_starts:
            lines += ["", f"Started by code the test inherits from `{spec.base_class}` (do not start again): "
                      f"{_q(spec.inherited_starts)}."]
        conf: list[str] = []
        for cs in spec.config_sets:
            read = f" (read by {_q(cs.read_by_env)})" if cs.read_by_env else ""
            conf.append(f"- uvm_config_db#({cs.type}) set of `{cs.key}` = `{cs.value}` for `{cs.path}` "
                        f"(context `{cs.context}`){read}")
        for o in spec.overrides:
            at = f" at `{o.path}`" if o.path else ""
            conf.append(f"- factory {o.kind} override: `{o.original}` → `{o.override}`{at}")
        for p in spec.plusargs:
            conf.append(f"- reads the plusarg `+{p.name}` (`{p.pattern}`, {p.how.replace('_', ' ')})")
        for d in spec.defines:
            by = "defined by the build" if d.defined_by_build else "not defined by the build"
            conf.append(f"- its code is under `` `{d.directive} {d.name} `` in `{d.file}` ({by})")
        ob = spec.objections
        if ob.raised:
            conf.append(f"- raises {ob.raised} and drops {ob.dropped} objection(s), in {', '.join(ob.phases)}")
        if ob.drain_times:
            conf.append(f"- sets a drain time of {', '.join(f'`{x}`' for x in ob.drain_times)}")
        if ob.timeouts:
            conf.append(f"- sets a timeout of {', '.join(f'`{x}`' for x in ob.timeouts)}")
        if ob.delays:
            conf.append(f"- waits {', '.join(f'`{x}`' for x in ob.delays)} in its phase methods")
        for r in spec.reg_accesses:
            fld = f" field `{r.field}`" if r.field else ""
            conf.append(f"- register model: `{r.op}` of register `{r.reg}`{fld} (`{r.path}`, in `{r.by}`)")
        for o in spec.outputs:  # only what something else reads: a log check, or a file it writes
            if not o.checked_in and o.kind not in ("$fwrite", "$fdisplay", "$fopen", "$writememh", "$writememb"):
                continue
            checked = f" — checked in {_q(o.checked_in)}" if o.checked_in else ""
            what = f"`{o.id}`: \"{o.text}\"" if o.id or o.text else ""
            conf.append(f"- prints/writes with `{o.kind}` {what}{checked}".rstrip())
        if spec.calls_finish:
            conf.append("- calls `$finish` itself")
        if conf:
            lines += ["", "### What the reference sets up and does", "", *conf]
    if task.hints:
        lines += ["", "### Hints", "", *[f"- {h}" for h in task.hints]]
    return lines


def _provides_section(task: Task) -> list[str]:
    spec = task.spec
    if spec is None:
        return []
    pv = spec.provides
    out: list[str] = []
    if pv.sequencers:
        plain = [s for s in pv.sequencers if s not in pv.virtual_sequencers]
        if plain:
            out.append(f"- sequencers: {_q(plain)}")
        if pv.virtual_sequencers:
            out.append(f"- virtual sequencers: {_q(pv.virtual_sequencers)}")
    if pv.base_sequences:
        out.append(f"- sequences left in the gym (use them, do not rewrite them): {_q(pv.base_sequences)}")
    keys = sorted({(g['key'], g['type']) for g in pv.config_gets})
    if keys:
        out.append("- uvm_config_db keys the environment reads: " + ", ".join(
            f"`{k}`" + (f" ({t})" if t else "") for k, t in keys))
    if pv.reg_blocks:
        out.append(f"- register model: {_q(pv.reg_blocks)}")
    return ["## What the environment provides", "", *out] if out else []


def _judged_section(task: Task) -> list[str]:
    acc = task.acceptance
    lines = [
        "## How it is selected, run and judged",
        "",
        f"The test is selected with `{task.test_select}`. `dvsmith eval` copies `gym/`, puts your files in place, "
        "compiles, runs your test (seed 1 unless `--seed`/`--seeds` say otherwise) and scores it:",
        "",
        f"- health gate: the test `{task.test_name}` must actually start, finish before "
        f"{acc.timeout_s:.0f} s, and end with UVM_ERROR ≤ {acc.max_uvm_errors} and "
        f"UVM_FATAL ≤ {acc.max_uvm_fatals} in the UVM report-server summary;",
    ]
    if acc.require_uvm_finish:
        lines.append("- the run must end through UVM's own `$finish` (do not call `$finish` yourself);")
    if task.plusargs:
        plus = " ".join(task.plusargs)
        lines.append(f"- the test runs with these plusargs (from the repository's own flow): `{plus}`;")
    if acc.require_probe:
        lines.append("- health is read by dvsmith's grader probe at the end of the run (UVM's own counts and phases,")
        lines.append("  not the log): the check and report phases must run and UVM must finish the test;")
        if acc.required_sequences:
            lines.append(f"- these sequences must be started on a sequencer: {_q(acc.required_sequences)};")
        if acc.min_items_done:
            lines.append("- stimulus must go through a sequencer to the driver (sequence items the driver finishes);")
    if acc.coverage:
        lines.append("- coverage of the code you do not write, per metric, against these targets:")
        lines += [f"  - {c.metric}: ≥ {c.target:.1f}% (reference reached {c.oracle:.1f}%)" for c in acc.coverage]
    else:
        lines.append("- no coverage targets (none were measured for the reference)")
    if task.coverage_over_base:
        gains = ", ".join(f"{m} +{v:.1f}" for m, v in sorted(task.coverage_over_base.items()))
        lines.append(f"- the reference reaches more than its base test alone (points: {gains})")
    if acc.functional_coverage == "unsupported":
        lines.append("- functional (covergroup) coverage is not measured by this simulator and is not scored")
    elif task.covergroups:
        lines.append(f"- functional coverage is scored; covergroups of this testbench: {_q(task.covergroups)}")
    lines += [f"- {n}" for n in acc.notes if n.startswith("covergroup ")]  # covergroups that are not scored
    if task.trivial:
        lines.append(f"- note: this task is flagged trivial ({task.trivial_reason})")
    if task.rewrites:
        lines += ["", "Verilator compatibility rewrites: `gym/` differs from the original repository where Verilator "
                  "needs it (the reference was run the same way):", ""]  # fmt: skip
        lines += [f"- `{x['file']}:{x['line']}` ({x['name']}): {x['what']}" for x in task.rewrites]
        lines += ["", "The grader makes the same rewrites on your files before compiling them.", ""]
    lines.append(
        f"- the task passes at score ≥ {acc.pass_score:.2f}; editing any file outside the list above scores 0."
    )
    return lines


def render_readme(task: Task) -> str:
    reason = task.difficulty_reason
    feats = task.difficulty_features
    measured = f"measured score {feats.score:g}" if feats is not None else ""
    paren = "; ".join(x for x in (measured, reason) if x)
    lines = [
        f"# {task.title}",
        "",
        f"Task `{task.id}` · difficulty **{task.difficulty}**" + (f" ({paren})" if paren else ""),
        "",
        "## Goal",
        "",
        task.goal,
        "",
        task.description,
        "",
        *_write_section(task),
        "",
    ]
    prov = _provides_section(task)
    if prov:
        lines += [*prov, ""]
    lines += [*_judged_section(task), ""]
    return "\n".join(lines)
