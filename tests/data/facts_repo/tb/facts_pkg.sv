// A small bench whose one real test touches every kind of fact dvsmith.gym.spec extracts.
`ifndef FACTS_PKG_SV
`define FACTS_PKG_SV
package facts_pkg;
  import uvm_pkg::*;
  `include "uvm_macros.svh"

  class f_item extends uvm_sequence_item;
    `uvm_object_utils(f_item)
    rand bit [7:0] data;
    function new(string name = "f_item");
      super.new(name);
    endfunction
  endclass

  class f_sequencer extends uvm_sequencer #(f_item);
    `uvm_component_utils(f_sequencer)
    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction
  endclass

  class f_regs extends uvm_reg_block;
    `uvm_object_utils(f_regs)
    function new(string name = "f_regs");
      super.new(name);
    endfunction
  endclass

  class f_env extends uvm_env;
    `uvm_component_utils(f_env)
    f_sequencer sqr;
    f_regs regmodel;
    int unsigned n_items;
    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction
    function void build_phase(uvm_phase phase);
      sqr = f_sequencer::type_id::create("sqr", this);
      if (!uvm_config_db#(int unsigned)::get(this, "", "n_items", n_items)) n_items = 1;
    endfunction
  endclass

  class f_leaf_seq extends uvm_sequence #(f_item);
    `uvm_object_utils(f_leaf_seq)
    function new(string name = "f_leaf_seq");
      super.new(name);
    endfunction
    task body();
      `uvm_do(req)
    endtask
  endclass

  class f_base_seq extends uvm_sequence #(f_item);
    `uvm_object_utils(f_base_seq)
    function new(string name = "f_base_seq");
      super.new(name);
    endfunction
  endclass

  class f_top_seq extends uvm_sequence #(f_item);
    `uvm_object_utils(f_top_seq)
    rand int unsigned n;
    constraint c_n { n inside {[1:4]}; }
    function new(string name = "f_top_seq");
      super.new(name);
    endfunction
    task body();
      f_leaf_seq leaf;
      repeat (n) `uvm_do(leaf)
    endtask
  endclass

  class f_base_test extends uvm_test;
    `uvm_component_utils(f_base_test)
    f_env env;
    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction
    function void build_phase(uvm_phase phase);
      env = f_env::type_id::create("env", this);
    endfunction
  endclass

`ifdef FACTS_FULL
  class f_full_test extends f_base_test;
    `uvm_component_utils(f_full_test)
    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction
    function void build_phase(uvm_phase phase);
      super.build_phase(phase);
      uvm_config_db#(int unsigned)::set(this, "env", "n_items", 7);
      f_base_seq::type_id::set_type_override(f_leaf_seq::get_type());
    endfunction
    task run_phase(uvm_phase phase);
      f_top_seq top;
      int unsigned loops;
      uvm_status_e status;
      phase.raise_objection(this);
      phase.phase_done.set_drain_time(this, 50ns);
      if (!$value$plusargs("LOOPS=%d", loops)) loops = 1;
      if ($test$plusargs("VERBOSE")) `uvm_info("FULL", "verbose run", UVM_LOW)
      top = f_top_seq::type_id::create("top");
      top.n = loops;
      top.start(env.sqr);
      env.regmodel.CTRL.EN.write(status, 1);
      env.regmodel.STAT.mirror(status);
      `uvm_info("SIG", "signature dumped", UVM_NONE)
      `uvm_info(get_type_name(), $sformatf("loops=%0d", loops), UVM_LOW)
      $display("TEST PASSED");
      phase.drop_objection(this);
    endtask
  endclass
`endif

  class f_empty_test extends f_base_test;
    `uvm_component_utils(f_empty_test)
    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction
  endclass
endpackage
`endif
