"""``CovergroupSpec`` -> the SystemVerilog that replaces the covergroup (a class on ``dvsmith_fcov_pkg``).

* In a module/interface/program the covergroup becomes a class of the same name (``cg inst = new;``
  keeps working); the clocking event form adds an ``always @(event)`` that samples every instance.
* In a class (an embedded covergroup) it becomes a nested class ``dvsmith_cg_<name>`` and a member
  ``<name>`` of it; the building and sampling code are methods of the enclosing class, so coverpoint
  expressions see its members exactly as the covergroup did. ``<name> = new(...)`` gets ``this`` as
  its first argument (the lowering edits that assignment); the clocking event form forks a process
  at construction.
"""

from __future__ import annotations

from dvsmith.sim.covergroups.model import BinSpec, CovergroupSpec, CoverpointSpec, RangeSpec

PKG = "dvsmith_fcov_pkg"
_KIND = {"bins": f"{PKG}::REG", "ignore": f"{PKG}::IGN", "illegal": f"{PKG}::ILL", "default": f"{PKG}::DEF"}


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def class_name(spec: CovergroupSpec) -> str:
    return spec.name if spec.scope_kind == "module" else f"dvsmith_cg_{spec.name}"


def _needs_sign(spec: CovergroupSpec, cp: CoverpointSpec) -> bool:
    if not any(b.kind == "bins" for b in cp.bins):
        return True
    for b in cp.bins:
        for r in [*b.ranges, *(r for seq in b.sequences for step in seq for r in step)]:
            if r.lo is None or r.hi is None:
                return True
    return any(cp.name in x.items and f"{cp.name}.m" in sel.select for x in spec.crosses for sel in x.bins)


def _bound(cp: str, r: RangeSpec, which: str) -> str:
    text = r.lo if which == "lo" else r.hi
    if text is None:
        return f"dvsmith_g.{cp}.{'min' if which == 'lo' else 'max'}_v"
    return f"longint'({text})"


def _bins_code(cp: CoverpointSpec, sgn: str, ind: str) -> list[str]:
    """Statements (inside a begin/end) that (re)create the bins of ``cp``."""
    n = cp.name
    out = [
        f"{ind}begin",
        f"{ind}  longint dvsmith_lo[$];",
        f"{ind}  longint dvsmith_hi[$];",
        f"{ind}  {PKG}::bin_c dvsmith_b;",
        f"{ind}  dvsmith_g.{n}.set_type($bits({cp.expr}), {sgn}, $typename({cp.expr}));",
    ]
    for b in cp.bins:
        out += _bin_code(cp.name, b, ind + "  ")
    if not any(b.kind == "bins" for b in cp.bins):
        out.append(f"{ind}  dvsmith_g.{n}.auto_bins();")
    out.append(f"{ind}end")
    return out


def _bin_code(cp: str, b: BinSpec, ind: str) -> list[str]:
    kind = _KIND[b.kind]
    if b.kind == "default":
        return [f"{ind}void'(dvsmith_g.{cp}.add({_q(b.name)}, {kind}));"]
    if b.sequences:
        out = [f"{ind}dvsmith_b = dvsmith_g.{cp}.add({_q(b.name)}, {kind});"]
        for s, seq in enumerate(b.sequences):
            for k, step in enumerate(seq):
                for r in step:
                    out.append(f"{ind}dvsmith_b.add_range({s}, {k}, {_bound(cp, r, 'lo')}, {_bound(cp, r, 'hi')});")
        return out
    out = [f"{ind}dvsmith_lo.delete();", f"{ind}dvsmith_hi.delete();"]
    for r in b.ranges:
        out.append(f"{ind}dvsmith_lo.push_back({_bound(cp, r, 'lo')});")
        out.append(f"{ind}dvsmith_hi.push_back({_bound(cp, r, 'hi')});")
    if b.array is None:
        out.append(f"{ind}dvsmith_g.{cp}.range_bin({_q(b.name)}, {kind}, dvsmith_lo, dvsmith_hi);")
    elif b.array == "":
        out.append(f"{ind}dvsmith_g.{cp}.array_bins({_q(b.name)}, {kind}, dvsmith_lo, dvsmith_hi);")
    else:
        out.append(f"{ind}dvsmith_g.{cp}.fixed_bins({_q(b.name)}, {kind}, int'({b.array}), dvsmith_lo, dvsmith_hi);")
    return out


def _port_locals(spec: CovergroupSpec, ind: str) -> list[str]:
    return [f"{ind}{p.decl} = dvsmith_g.{p.name};" for p in spec.ports]


def _build_fn(spec: CovergroupSpec, fn: str, cls: str, ind: str) -> list[str]:
    o = spec.options
    out = [f"{ind}function void {fn}({cls} dvsmith_g);", *_port_locals(spec, ind + "  ")]
    # the sample() arguments exist here only for $bits/$typename of the coverpoint expressions
    out += [f"{ind}  {p.decl};" for p in spec.sample_ports]
    for opt, field in (
        ("weight", "weight"),
        ("goal", "goal"),
        ("per_instance", "per_instance"),
        ("comment", "comment"),
    ):
        if opt in o:
            out.append(f"{ind}  dvsmith_g.{field} = {o[opt]};")
    if "name" in o:
        out.append(f"{ind}  dvsmith_g.set_inst_name({o['name']});")
    for cp in spec.points:
        n = cp.name
        out.append(f"{ind}  dvsmith_g.{n} = dvsmith_g.new_cp({_q(n)});")
        for opt in ("at_least", "auto_bin_max"):
            if opt in cp.options or opt in o:
                out.append(f"{ind}  dvsmith_g.{n}.{opt} = {cp.options.get(opt, o.get(opt))};")
        for opt in ("weight", "goal"):
            if opt in cp.options:
                out.append(f"{ind}  dvsmith_g.{n}.{opt} = {cp.options[opt]};")
        out += _bins_code(cp, "1'b0", ind + "  ")
    for x in spec.crosses:
        n = x.name
        out.append(f"{ind}  dvsmith_g.{n} = dvsmith_g.new_cross({_q(n)});")
        for item in x.items:
            out.append(f"{ind}  dvsmith_g.{n}.items.push_back(dvsmith_g.{item});")
        if "at_least" in x.options or "at_least" in o:
            out.append(f"{ind}  dvsmith_g.{n}.at_least = {x.options.get('at_least', o.get('at_least'))};")
        for opt in ("weight", "goal"):
            if opt in x.options:
                out.append(f"{ind}  dvsmith_g.{n}.{opt} = {x.options[opt]};")
        for xb in x.bins:
            out.append(f"{ind}  dvsmith_g.{n}.user_bin({_q(xb.name)}, {_KIND[xb.kind]});")
    out.append(f"{ind}endfunction")
    return out


def _sample_fn(spec: CovergroupSpec, fn: str, cls: str, ind: str) -> list[str]:
    ports = "".join(f", {p.decl}" for p in spec.sample_ports)
    out = [f"{ind}function void {fn}({cls} dvsmith_g{ports});", *_port_locals(spec, ind + "  ")]
    for cp in spec.points:
        n, e = cp.name, cp.expr
        if _needs_sign(spec, cp):
            out.append(f"{ind}  if (!dvsmith_g.{n}.sign_known) begin")
            out.append(f"{ind}    dvsmith_g.{n}.sign_known = 1;")
            out.append(f"{ind}    if ((({e}) - ({e}) - 1) < 0) begin")
            out.append(f"{ind}      dvsmith_g.{n}.bq.delete();")
            out += _bins_code(cp, "1'b1", ind + "      ")
            out.append(f"{ind}      dvsmith_g.{n}.finish();")
            out.append(f"{ind}    end")
            out.append(f"{ind}  end")
        cond = f"({cp.iff})" if cp.iff else "1'b1"
        out.append(f"{ind}  if ({cond}) dvsmith_g.{n}.sample($isunknown({e}), longint'({e}));")
        out.append(f"{ind}  else dvsmith_g.{n}.skip();")
    for x in spec.crosses:
        cond = f"({x.iff})" if x.iff else "1'b1"
        out.append(f"{ind}  if ({cond}) dvsmith_g.{x.name}.sample();")
    out.append(f"{ind}endfunction")
    return out


def _common(spec: CovergroupSpec, ind: str) -> list[str]:
    out = [
        f"{ind}static function real get_coverage();",
        f"{ind}  return {PKG}::type_coverage({_q(spec.type_name)});",
        f"{ind}endfunction",
        f"{ind}function real get_inst_coverage();",
        f"{ind}  return per_instance ? inst_coverage() : get_coverage();",
        f"{ind}endfunction",
    ]
    if any(x.bins for x in spec.crosses):
        out.append(f"{ind}virtual function bit cross_select(int x, int u, int t[$]);")
        for xi, x in enumerate(spec.crosses):
            for ui, xb in enumerate(x.bins):
                out.append(f"{ind}  if (x == {xi} && u == {ui}) return {xb.select};")
        out += [f"{ind}  return 0;", f"{ind}endfunction"]
    return out


def _fields(spec: CovergroupSpec, ind: str) -> list[str]:
    out = [f"{ind}{p.decl};" for p in spec.ports]
    out += [f"{ind}{PKG}::cp_c {cp.name};" for cp in spec.points]
    out += [f"{ind}{PKG}::cross_c {x.name};" for x in spec.crosses]
    return out


def _header(spec: CovergroupSpec, ind: str) -> list[str]:
    return [
        f"{ind}  type_name = {_q(spec.type_name)};",
        f"{ind}  inst_name = {_q(spec.name)};",
        f"{ind}  where = {_q(f'{spec.file}:{spec.line}')};",
    ]


def emit(spec: CovergroupSpec, outer: str | None = None, ind: str = "  ", instances: list[str] | None = None) -> str:
    """The text that replaces the covergroup declaration. ``outer``: the enclosing class's name (None
    in a module, interface, program or package); ``instances``: in a module, the variables of the
    covergroup's type it declares (the clocking event samples them).

    The building and sampling code are functions of the enclosing scope (not of the generated class),
    so coverpoint expressions resolve exactly as they did in the covergroup: to the enclosing scope's
    names and the covergroup's arguments, never to the generated class's own members."""
    cls = class_name(spec)
    i2 = ind + "  "
    n = spec.name
    args = ", ".join(p.decl for p in spec.ports)
    assigns = [f"{i2}  this.{p.name} = {p.name};" for p in spec.ports]
    sample_args = ", ".join(p.decl for p in spec.sample_ports)
    sample_names = "".join(f", {p.name}" for p in spec.sample_ports)
    call = "dvsmith_p." if outer else ""
    auto = "" if outer else "automatic "
    lines = [f"/* dvsmith: covergroup {n} lowered for Verilator ({spec.file}:{spec.line}) */"]
    scope_fns = _build_fn(spec, f"dvsmith_build_{n}", cls, ind) + _sample_fn(spec, f"dvsmith_sample_{n}", cls, ind)
    scope_fns = [line.replace("function void dvsmith_", f"function {auto}void dvsmith_", 1) for line in scope_fns]
    if outer is None:
        lines.append(f"{ind}typedef class {cls};")
        lines += scope_fns
    lines.append(f"{ind}class {cls} extends {PKG}::cg_base;")
    if outer:
        lines.append(f"{i2}{outer} dvsmith_p;")
    lines += _fields(spec, i2)
    if outer:
        sep = ", " if args else ""
        lines.append(f"{i2}function new({outer} dvsmith_p{sep}{args});")
        lines.append(f"{i2}  this.dvsmith_p = dvsmith_p;")
    else:
        lines.append(f"{i2}function new({args});")
    lines += assigns + _header(spec, i2)
    lines += [f"{i2}  {call}dvsmith_build_{n}(this);", f"{i2}  finish();"]
    if spec.event and outer:
        lines += [f"{i2}  fork", f"{i2}    dvsmith_p.dvsmith_clock_{n}(this);", f"{i2}  join_none"]
    lines.append(f"{i2}endfunction")
    lines.append(f"{i2}function void sample({sample_args});")
    lines.append(f"{i2}  if (enabled) {call}dvsmith_sample_{n}(this{sample_names});")
    lines.append(f"{i2}endfunction")
    lines += _common(spec, i2)
    lines.append(f"{ind}endclass")
    if outer is None:
        if spec.event:  # one always block per module instance samples the instances it declares
            each = " ".join(f"if ({v} != null) {v}.sample();" for v in instances or [])
            lines.append(f"{ind}always {spec.event} begin {each} end")
        return "\n".join(lines)
    lines.append(f"{ind}{cls} {n};")
    lines += scope_fns
    if spec.event:
        lines.append(f"{ind}task dvsmith_clock_{n}({cls} dvsmith_g);")
        lines.append(f"{ind}  forever begin")
        lines.append(f"{ind}    {spec.event};")
        lines.append(f"{ind}    dvsmith_g.sample();")
        lines.append(f"{ind}  end")
        lines.append(f"{ind}endtask")
    return "\n".join(lines)
