"""The procedural rewrites for Verilator 5.049 (seen in ethmac_uvm_ITI_GP): what they change and what not.

Checked against real Verilator in the session that wrote them: the original of ``NESTED`` crashes Verilator
(``unordered_map::at`` in EmitCFunc), the rewritten text compiles and prints the same as the original means
(``comp done at 2``, no branch past the disable)."""

from __future__ import annotations

from dvsmith.sim.rewrites import RewriteContext, enabled_rewrites, rewrite_text

NESTED = b"""class C;
  int n;
  task comp();
    fork : fc
      begin #3; $display("fc 1"); end
      begin
        fork : fc2
          begin #1; if (n < 100) disable fc; $display("after"); end
          begin #7; end
        join_any
        $display("after fc2");
      end
    join
  endtask
endclass
"""


def _run(src: bytes, only: str) -> tuple[str, list[str]]:
    rw = [r for r in enabled_rewrites() if r.name == only]
    new, recs = rewrite_text(src, "x.sv", RewriteContext(), rw)
    return new.decode(), [r.name for r in recs]


def test_nested_disable_becomes_flag_and_inner_disable() -> None:
    out, names = _run(NESTED, "disable_from_nested_fork")
    assert set(names) == {"disable_from_nested_fork"}
    assert "begin bit dvsmith_off_fc;" in out
    assert "dvsmith_off_fc = 1'b0; fork : fc2" in out
    assert "if (n < 100) begin dvsmith_off_fc = 1'b1; disable fc2; end" in out
    assert "join_any if (dvsmith_off_fc) disable fc;" in out
    assert out.count("disable fc;") == 1  # the one after the inner join; the nested one is gone


def test_unnamed_inner_fork_gets_a_name() -> None:
    src = NESTED.replace(b"fork : fc2", b"fork")
    out, _ = _run(src, "disable_from_nested_fork")
    assert "fork : dvsmith_fork_7" in out
    assert "disable dvsmith_fork_7; end" in out


def test_direct_disable_and_join_none_left_alone() -> None:
    direct = b"class C; task t(); fork : f begin #1; disable f; end begin #2; end join endtask endclass\n"
    assert _run(direct, "disable_from_nested_fork") == (direct.decode(), [])
    none = NESTED.replace(b"join_any", b"join_none")
    assert _run(none, "disable_from_nested_fork")[1] == []


LOCALS = b"""class C;
  int keep;
  function int pick(int v);
    if (v < 0) return -1;
    begin
      int unsigned w;
      bit odd = v[0];
      w = v * 2;
      if (!odd) return w;
    end
    return 7;
  endfunction
endclass
"""


def test_block_locals_after_return_move_to_the_top() -> None:
    out, names = _run(LOCALS, "block_locals_after_return")
    assert names and set(names) == {"block_locals_after_return"}
    assert "function int pick(int v); int unsigned w; bit odd;" in out
    assert "w = '0;" in out and "odd = v[0];" in out
    assert "int unsigned w;\n" not in out


def test_block_locals_kept_when_the_name_is_used_elsewhere_or_no_return() -> None:
    clash = LOCALS.replace(b"return 7;", b"return keep + w;")  # w outside the block: a class member there
    assert _run(clash, "block_locals_after_return")[1] == []
    no_return = LOCALS.replace(b"if (v < 0) return -1;", b"").replace(b"if (!odd) return w;", b"").replace(
        b"return 7;", b"pick = 7;")
    assert _run(no_return, "block_locals_after_return")[1] == []
    module = b"module m; function int f(int v); if (v) return 1; begin int a; a = v; end return 0; endfunction\n"
    module += b"endmodule\n"
    assert _run(module, "block_locals_after_return")[1] == []  # static lifetime: a reset would change it


STREAM = b"""class Item; bit [31:0] preamble; endclass
class Sb;
  bit exp[$];
  extern task comp(Item item);
endclass
task Sb::comp(Item item);
  bit temp[$];
  byte bq[$];
  temp = exp[0 : 31];
  if ({>>{temp}} != item.preamble) $display("mismatch");
  if (item.preamble === {>>{temp}}) $display("same");
  if ({>>{bq}} != item.preamble) $display("bytes");
  if ({<<{temp}} != item.preamble) $display("reversed");
endtask
"""


def test_stream_compared_becomes_a_helper_of_the_class() -> None:
    out, names = _run(STREAM, "stream_in_comparison")
    assert set(names) == {"stream_in_comparison"} and len(names) == 3  # two uses + one helper
    assert "class Sb; static function bit [4095:0] dvsmith_stream_bits(bit q[$]);" in out
    assert "foreach (q[i]) r = {r[4094:0], q[i]}; return r; endfunction" in out
    assert "if (dvsmith_stream_bits(temp) != item.preamble)" in out
    assert "if (item.preamble === dvsmith_stream_bits(temp))" in out
    assert "if ({>>{bq}} != item.preamble)" in out  # a byte queue: not this rewrite's
    assert "if ({<<{temp}} != item.preamble)" in out  # reversed order: left alone
    assert "class Item; bit [31:0] preamble; endclass" in out


def test_stream_as_assignment_source_is_left_alone() -> None:
    src = b"class C; bit q[$]; bit [7:0] v; function void f(); v = {>>{q}}; endfunction endclass\n"
    assert _run(src, "stream_in_comparison")[1] == []


EVENT_NULL = b"""class wb_slave;
  event send_to_get;
  wb_item m_tr;
  task get(output wb_item t);
    wait(send_to_get.triggered)
    t = m_tr;
    m_tr = null;
    send_to_get = null;
  endtask
  function void clear();
    if (m_tr == null) this.send_to_get = null;
  endfunction
endclass
class other;
  event done;
  wb_item done_item;
  function void f(); done_item = null; endfunction
endclass
"""


def test_event_null_assignment_becomes_a_fresh_event() -> None:
    """Checked on real Verilator: the original fails in C++ (VlAssignableEvent = VlNull); rewritten, a loop
    calling get() again in the same time step blocks until the next trigger (got 1 at 5, 2 at 10, 3 at 15),
    where dropping the statement lets every get of that time step through (got 1, 2, 3 all at 5)."""
    out, names = _run(EVENT_NULL, "event_null_assignment")
    assert names == ["event_null_assignment", "event_null_assignment"]
    assert ("    begin event dvsmith_null_ev; send_to_get = dvsmith_null_ev; end /* dvsmith: send_to_get = null; */\n"
            in out)  # fmt: skip
    assert ("if (m_tr == null) begin event dvsmith_null_ev_2; this.send_to_get = dvsmith_null_ev_2; end "
            "/* dvsmith: this.send_to_get = null; */") in out  # still one statement
    assert "    m_tr = null;\n" in out and "done_item = null;" in out  # class handles keep their null
    assert out.count("\n") == EVENT_NULL.decode().count("\n")  # no line moves


def test_event_null_assignment_skips_names_declared_otherwise() -> None:
    src = b"class a; event h; endclass\nclass b; a h; function void f(); h = null; endfunction endclass\n"
    out, names = _run(src, "event_null_assignment")
    assert names == [] and out == src.decode()
