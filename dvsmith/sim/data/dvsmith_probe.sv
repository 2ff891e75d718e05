// dvsmith's grader probe. Compiled by dvsmith beside every testbench it simulates (the original, the gym
// and every candidate alike) and bound into the top module; never part of a gym, so a solution cannot
// edit it. When the run is given +dvsmith_probe=<file> (a name the grader picks per run), the probe
// watches every sequencer's begin_tr event (sequences started, items handed to the driver, and whether
// the driver finished them) and, in its final block, writes what UVM itself knows at the end of the run: the report
// server's counts, the state of the check/report/final phases, UVM's core state and the test that ran.
// Format: one "key value" line each, names limited to identifier characters; see dvsmith/sim/probe.py.
module dvsmith_probe;
  import uvm_pkg::*;

  // Reads a component's protected event pool (sequencers have no public accessor).
  class dvsmith_probe_peek extends uvm_component;
    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction
    static function uvm_event_pool pool(uvm_component c);
      return c.event_pool;
    endfunction
  endclass

  class dvsmith_probe_state;
    static int seqs[string];
    static int items_begun;
    static int sequencers;
    static uvm_sequence_item items[$];  // the first items handed to a sequencer (ended = the driver finished)
  endclass

  class dvsmith_probe_cb extends uvm_event_callback #(uvm_object);
    bit at_end;
    function new(string name = "dvsmith_probe_cb", bit at_end = 0);
      super.new(name);
      this.at_end = at_end;
    endfunction
    virtual function bit pre_trigger(uvm_event #(uvm_object) e, uvm_object data);
      uvm_sequence_base s;
      uvm_sequence_item it;
      if ($cast(s, data)) begin
        if (!at_end) begin
          string n;
          n = s.get_type_name();
          if (dvsmith_probe_state::seqs.exists(n)) dvsmith_probe_state::seqs[n] += 1;
          else dvsmith_probe_state::seqs[n] = 1;
        end
      end else if ($cast(it, data)) begin
        if (!at_end) begin
          dvsmith_probe_state::items_begun += 1;
          if (dvsmith_probe_state::items.size() < 4096) dvsmith_probe_state::items.push_back(it);
        end
      end
      return 0;
    endfunction
  endclass

  string probe_path = "";

  function automatic bit safe_name(string n);
    if (n.len() == 0 || n.len() > 200) return 0;
    for (int i = 0; i < n.len(); i++) begin
      byte c;
      c = n[i];
      if (!((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
            || c == ":" || c == "#" || c == "(" || c == ")" || c == "," || c == "." || c == "$")) return 0;
    end
    return 1;
  endfunction

  function automatic string phase_state(string name);
    uvm_phase p;
    uvm_domain d;
    d = uvm_domain::get_common_domain();
    if (d == null) return "none";
    p = d.find_by_name(name, 0);
    if (p == null) return "none";
    return p.get_state().name();
  endfunction

  task automatic attach();
    uvm_phase ph;
    uvm_component comps[$];
    uvm_sequencer_base sq;
    dvsmith_probe_cb begin_cb;
    begin_cb = new("dvsmith_probe_begin", 0);
    ph = uvm_domain::get_common_domain().find(uvm_end_of_elaboration_phase::get());
    if (ph == null) return;
    ph.wait_for_state(UVM_PHASE_EXECUTING, UVM_GTE);
    uvm_root::get().find_all("*", comps);
    foreach (comps[i]) begin
      if ($cast(sq, comps[i])) begin
        uvm_event_pool pool;
        uvm_event #(uvm_object) eb;
        pool = dvsmith_probe_peek::pool(sq);
        eb = pool.get("begin_tr");
`ifdef UVM_VERSION_1_2
        eb.add_callback(begin_cb);
`else
        uvm_callbacks #(uvm_event #(uvm_object), uvm_event_callback #(uvm_object))::add(eb, begin_cb);
`endif
        dvsmith_probe_state::sequencers += 1;
      end
    end
  endtask

  initial begin
    if ($value$plusargs("dvsmith_probe=%s", probe_path)) begin
      fork
        attach();
      join_none
    end
  end

  final begin
    if (probe_path != "") begin
      int fd;
      int items_done;
      uvm_report_server rs;
      uvm_component top;
      string nonce;
      // assigned here, not in the declarations: an initializer of a block variable runs once, at time 0
      rs = uvm_report_server::get_server();
      top = uvm_root::get().get_child("uvm_test_top");
      nonce = "";
      items_done = 0;
      foreach (dvsmith_probe_state::items[i]) begin
        if (!dvsmith_probe_state::items[i].is_active()) items_done += 1;
      end
      void'($value$plusargs("dvsmith_probe_nonce=%s", nonce));
      fd = $fopen(probe_path, "w");
      if (fd != 0) begin
        $fdisplay(fd, "dvsmith-probe 1");
        $fdisplay(fd, "nonce %s", safe_name(nonce) ? nonce : "-");
        $fdisplay(fd, "core_state %s", get_core_state().name());
        $fdisplay(fd, "phase_check %s", phase_state("check"));
        $fdisplay(fd, "phase_report %s", phase_state("report"));
        $fdisplay(fd, "phase_final %s", phase_state("final"));
        $fdisplay(fd, "count_info %0d", rs.get_severity_count(UVM_INFO));
        $fdisplay(fd, "count_warning %0d", rs.get_severity_count(UVM_WARNING));
        $fdisplay(fd, "count_error %0d", rs.get_severity_count(UVM_ERROR));
        $fdisplay(fd, "count_fatal %0d", rs.get_severity_count(UVM_FATAL));
        $fdisplay(fd, "test %s", (top != null && safe_name(top.get_type_name())) ? top.get_type_name() : "-");
        $fdisplay(fd, "sequencers %0d", dvsmith_probe_state::sequencers);
        $fdisplay(fd, "items_begun %0d", dvsmith_probe_state::items_begun);
        $fdisplay(fd, "items_done %0d", items_done);
        foreach (dvsmith_probe_state::seqs[n]) begin
          if (safe_name(n)) $fdisplay(fd, "seq %0d %s", dvsmith_probe_state::seqs[n], n);
        end
        $fdisplay(fd, "end");
        $fclose(fd);
      end
    end
  end
endmodule
