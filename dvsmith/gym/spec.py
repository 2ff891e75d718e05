"""Facts a task's instructions are built from, read from the reference and the gym with pyslang.

For each task, the reference classes (the test and the sequences removed with it) are parsed with
pyslang, with UVM macro stubs that keep sequence starts (`uvm_do` family) and report macros
(`uvm_info`, ...) visible as calls. From the syntax trees come: the sequences started and on which
sequencer (``seq.start(env.agt.sqr)``, `` `uvm_do_on``, ``default_sequence`` through ``uvm_config_db``),
the sequences those start in turn, ``uvm_config_db`` sets, factory overrides, plusargs
(``$value$plusargs``, ``$test$plusargs``, ``uvm_cmdline_processor``), `` `ifdef`` names around or in
the reference, objections, drain times and timeouts, what it prints or writes, register-model
accesses (``reg_model.X.Y.write(...)``), and whether the test class is an empty subclass of its base
(``trivial``). What the environment provides (sequencers, config keys it reads, register blocks) is
read from the rest of the compile unit the same way.

Nothing here comes from the AI: the AI's answer is checked against these facts (``dvsmith.gym.hints``).

The records live here; the extraction is ``dvsmith.gym.spec_extract`` (``SpecExtractor``), over the pyslang
helpers of ``dvsmith.gym.spec_syntax``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SequenceStart(_Model):
    sequence: str  # the class started (a sequence, or an item for `uvm_do on an item)
    kind: Literal["sequence", "item", "other"] = "sequence"
    sequencer: str = ""  # the path as written (``env.agt.sqr``, ``p_sequencer.apb_sqr``); "" = its own sequencer
    sequencer_type: str | None = None  # the class of that sequencer, when the gym's code says
    how: Literal["start", "uvm_do", "uvm_do_on", "default_sequence"] = "start"
    phase: str | None = None  # default_sequence: the phase it runs in (``main_phase``)
    started_by: str  # the reference class whose code starts it
    method: str = ""
    settings: list[str] = Field(default_factory=list)  # fields the starter sets on it (``seq.n = 2``)
    must_write: bool = False  # removed with the task: the candidate writes it too
    file: str | None = None  # where it is (gym path), when known


class ConfigSet(_Model):
    type: str  # the uvm_config_db parameter (``int``, ``uvm_object_wrapper``)
    context: str  # first argument (``this``, ``null``)
    path: str  # instance path argument, as written
    key: str  # field name
    value: str  # value expression, as written
    set_by: str
    read_by_env: list[str] = Field(default_factory=list)  # gym classes that get this key


class FactoryOverride(_Model):
    kind: Literal["type", "instance"]
    original: str
    override: str
    path: str = ""
    set_by: str


class Plusarg(_Model):
    name: str  # without the leading + and the =%d format
    how: Literal["value_plusargs", "test_plusargs", "cmdline_processor"]
    pattern: str  # the string as written
    read_by: str


class Define(_Model):
    name: str
    directive: str  # ifdef | ifndef | elsif
    file: str
    defined_by_build: bool = False  # the compile unit defines it


class Objections(_Model):
    raised: int = 0
    dropped: int = 0
    phases: list[str] = Field(default_factory=list)  # phase methods that raise one
    drain_times: list[str] = Field(default_factory=list)  # set_drain_time arguments, as written
    timeouts: list[str] = Field(default_factory=list)  # set_timeout / set_global_timeout arguments
    delays: list[str] = Field(default_factory=list)  # #delays in phase methods of the test


class Output(_Model):
    kind: str  # uvm_info | uvm_warning | uvm_error | uvm_fatal | $display | $fwrite | $writememh | $fopen | $finish
    id: str = ""  # report id, or file name for $fopen / $writememh
    text: str = ""  # the message as written
    by: str
    checked_in: list[str] = Field(default_factory=list)  # gym files outside the reference that mention it


class RegAccess(_Model):
    path: str  # ``reg_model.CTRL.EN``
    op: str  # write | read | mirror | ...
    reg: str
    field: str | None = None
    by: str


class ClassToWrite(_Model):
    name: str
    file: str
    kind: str  # test | sequence | other
    base_class: str | None = None
    lines: int = 0
    constraint_blocks: int = 0
    methods: list[str] = Field(default_factory=list)


class EnvProvides(_Model):
    sequencers: list[str] = Field(default_factory=list)  # sequencer classes of the compile unit
    virtual_sequencers: list[str] = Field(default_factory=list)
    config_gets: list[dict[str, str]] = Field(default_factory=list)  # {key, type, in_class}
    reg_blocks: list[str] = Field(default_factory=list)  # classes extending uvm_reg_block
    base_sequences: list[str] = Field(default_factory=list)  # sequences left in the gym


class TaskSpec(_Model):
    version: int = SPEC_VERSION
    test: str
    base_class: str | None = None
    base_chain: list[str] = Field(default_factory=list)
    classes_to_write: list[ClassToWrite] = Field(default_factory=list)
    test_methods: list[str] = Field(default_factory=list)  # methods the test class declares (besides new)
    starts: list[SequenceStart] = Field(default_factory=list)
    inherited_starts: list[str] = Field(default_factory=list)  # started by methods the test inherits, not its own
    config_sets: list[ConfigSet] = Field(default_factory=list)
    overrides: list[FactoryOverride] = Field(default_factory=list)
    plusargs: list[Plusarg] = Field(default_factory=list)
    defines: list[Define] = Field(default_factory=list)
    objections: Objections = Field(default_factory=Objections)
    outputs: list[Output] = Field(default_factory=list)
    reg_accesses: list[RegAccess] = Field(default_factory=list)
    calls_finish: bool = False  # the reference calls $finish itself
    constructor_sets: list[str] = Field(default_factory=list)  # assignments in the test's constructor
    trivial: bool = False  # the test is an empty subclass of its base (static check)
    trivial_reason: str | None = None
    provides: EnvProvides = Field(default_factory=EnvProvides)
    diagnostics: list[str] = Field(default_factory=list)  # what the extraction could not read

    def sequence_names(self) -> list[str]:
        return list(dict.fromkeys(s.sequence for s in self.starts))



def default_sequence_phase(cs: ConfigSet) -> str | None:
    """``env.agt.sqr.main_phase`` -> ``main_phase`` for a default_sequence set."""
    if cs.key != "default_sequence":
        return None
    last = cs.path.rsplit(".", 1)[-1]
    return last if last.endswith("_phase") else None
