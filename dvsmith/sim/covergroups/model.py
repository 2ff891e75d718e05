"""Models of the covergroup lowering: what was parsed (specs), what was not supported, and the results
a lowered simulation writes (per covergroup instance, coverpoint/cross, bin)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ------------------------------------------------------------------------------------------ specs
class RangeSpec(_Model):
    """``[lo:hi]`` of SV expression texts; ``None`` is ``$`` (the coverpoint type's bound)."""

    lo: str | None
    hi: str | None


class BinSpec(_Model):
    name: str
    kind: str  # bins | ignore | illegal | default
    array: str | None = None  # None: one bin; "": bins x[]; else the N of bins x[N] (SV text)
    ranges: list[RangeSpec] = Field(default_factory=list)  # value bins
    # transition bins: alternatives, each a list of steps, each step a set of ranges
    sequences: list[list[list[RangeSpec]]] = Field(default_factory=list)


class CoverpointSpec(_Model):
    name: str
    expr: str
    iff: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    bins: list[BinSpec] = Field(default_factory=list)
    implicit: bool = False  # created for a variable named in a cross


class CrossBinSpec(_Model):
    name: str
    kind: str  # bins | ignore | illegal
    select: str  # an SV boolean over t[k] (the tuple's bin index per cross item)


class CrossSpec(_Model):
    name: str
    items: list[str]  # coverpoint names
    iff: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    bins: list[CrossBinSpec] = Field(default_factory=list)


class PortSpec(_Model):
    decl: str  # the declaration text: "int lo" (direction/ref removed)
    name: str


class CovergroupSpec(_Model):
    name: str
    scope: str  # enclosing class or module
    scope_kind: str  # class | module
    file: str
    line: int
    ports: list[PortSpec] = Field(default_factory=list)
    sample_ports: list[PortSpec] = Field(default_factory=list)
    event: str | None = None  # the clocking event text, "@(posedge clk)" without the "@"
    options: dict[str, str] = Field(default_factory=dict)
    type_options: dict[str, str] = Field(default_factory=dict)
    points: list[CoverpointSpec] = Field(default_factory=list)
    crosses: list[CrossSpec] = Field(default_factory=list)

    @property
    def type_name(self) -> str:
        return f"{self.scope}::{self.name}"


# ------------------------------------------------------------------------------ lowering output
class Unsupported(_Model):
    """A construct the lowering does not handle; its covergroup is not lowered and not scored."""

    file: str
    line: int
    covergroup: str  # scope::name
    what: str  # the construct, e.g. "wildcard bins"
    text: str = ""


class Edit(_Model):
    """Replace bytes ``[start, end)`` of a file's original text with ``text``."""

    start: int
    end: int
    text: str


class FileLowering(_Model):
    file: str
    edits: list[Edit] = Field(default_factory=list)
    lowered: list[str] = Field(default_factory=list)  # scope::name
    unsupported: list[Unsupported] = Field(default_factory=list)
    tampering: list[str] = Field(default_factory=list)  # text that names dvsmith's runtime


class LoweringResult(_Model):
    """What ``lower_tree`` did to a copy of a tree: edited files, the package to compile first."""

    root: Path  # the scratch copy that holds the edited files
    package: Path | None = None  # dvsmith_fcov_pkg source, to compile before the testbench
    files: list[FileLowering] = Field(default_factory=list)
    lowered: list[str] = Field(default_factory=list)
    unsupported: list[Unsupported] = Field(default_factory=list)
    tampering: list[str] = Field(default_factory=list)
    top: str | None = None  # the module that got the final block writing the results
    covergroups: list[CovergroupSpec] = Field(default_factory=list)


# ------------------------------------------------------------------------------------- results
class BinResult(_Model):
    name: str
    kind: str  # bins | ignore | illegal | default
    hits: int


class PointResult(_Model):
    name: str
    kind: str  # coverpoint | cross
    weight: float = 1.0
    at_least: int = 1
    goal: int = 100
    unsupported: str = ""
    bins: list[BinResult] = Field(default_factory=list)

    def regular(self) -> list[BinResult]:
        return [b for b in self.bins if b.kind == "bins"]

    def coverage(self) -> float | None:
        """covered / total regular bins x 100 (IEEE 1800-2017 19.11); None without bins."""
        regs = self.regular()
        if not regs:
            return None
        return 100.0 * sum(1 for b in regs if b.hits >= self.at_least) / len(regs)


class InstanceResult(_Model):
    type: str  # scope::name
    inst: str = ""
    where: str = ""
    weight: float = 1.0
    goal: int = 100
    per_instance: int = 0
    coverage: float = 0.0  # as the simulation computed it (get_inst_coverage)
    points: list[PointResult] = Field(default_factory=list)

    def computed_coverage(self) -> float:
        """Weighted mean of coverpoint/cross coverage (points without bins or weight 0 left out)."""
        sw = acc = 0.0
        for p in self.points:
            c = p.coverage()
            if p.weight <= 0 or (c is None and p.kind == "coverpoint"):
                continue
            sw += p.weight
            acc += p.weight * (c or 0.0)
        return acc / sw if sw else 0.0


class FcovResults(_Model):
    format: str = ""
    instances: list[InstanceResult] = Field(default_factory=list)
    source: str | None = None

    def types(self) -> list[str]:
        return sorted({i.type for i in self.instances})

    def covered_bins(self, type_name: str) -> tuple[set[str], set[str]]:
        """(covered, all) regular bins of a covergroup type as ``point/bin`` keys, merged over its
        instances (a bin is covered when any instance hit it at least ``at_least`` times)."""
        covered: set[str] = set()
        every: set[str] = set()
        for inst in self.instances:
            if inst.type != type_name:
                continue
            for p in inst.points:
                for b in p.regular():
                    key = f"{p.name}/{b.name}"
                    every.add(key)
                    if b.hits >= p.at_least:
                        covered.add(key)
        return covered, every

    def unsupported(self) -> dict[str, list[str]]:
        """Per type, what the run found it could not measure (e.g. automatic bins of an enum)."""
        out: dict[str, list[str]] = {}
        for inst in self.instances:
            for p in inst.points:
                if p.unsupported:
                    out.setdefault(inst.type, []).append(f"{p.name}: {p.unsupported}")
        return {k: sorted(set(v)) for k, v in out.items()}
