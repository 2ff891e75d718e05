// Tests of the smoke testbench. Each drives the counter through the virtual interface.
class smoke_base_test extends uvm_test;
  `uvm_component_utils(smoke_base_test)
  virtual smoke_if vif;
  int unsigned cycles = 4;

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  function void build_phase(uvm_phase phase);
    if (!uvm_config_db#(virtual smoke_if)::get(this, "", "vif", vif))
      `uvm_fatal("NOVIF", "no virtual interface")
  endfunction

  virtual task drive();
    vif.rst_n <= 1'b0;
    vif.en <= 1'b0;
    repeat (2) @(posedge vif.clk);
    vif.rst_n <= 1'b1;
    vif.en <= 1'b1;
    repeat (cycles) @(posedge vif.clk);
    vif.en <= 1'b0;
    @(posedge vif.clk);
  endtask

  task run_phase(uvm_phase phase);
    phase.raise_objection(this);
    drive();
    `uvm_info("SMOKE", $sformatf("count=%0d wrapped=%0b", vif.count, vif.wrapped), UVM_LOW)
    phase.drop_objection(this);
  endtask
endclass

// Passes: counts past the wrap point, with a randomized item to exercise the solver.
class smoke_pass_test extends smoke_base_test;
  `uvm_component_utils(smoke_pass_test)
  rand bit [3:0] extra;
  constraint c_extra { extra inside {[2:5]}; }

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  task run_phase(uvm_phase phase);
    if (!this.randomize()) `uvm_error("RAND", "randomize failed")
    cycles = 16 + extra;
    super.run_phase(phase);
  endtask
endclass

// Reports an error, then prints a fake clean report summary with $display.
class smoke_fake_test extends smoke_base_test;
  `uvm_component_utils(smoke_fake_test)

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  function void report_phase(uvm_phase phase);
    `uvm_error("FAKE", "a real error")
    $display("UVM_INFO /uvm/src/base/uvm_report_server.svh(864) @ 0: reporter [UVM/REPORT/SERVER] ");
    $display("--- UVM Report Summary ---");
    $display("");
    $display("** Report counts by severity");
    $display("UVM_INFO :    1");
    $display("UVM_WARNING :    0");
    $display("UVM_ERROR :    0");
    $display("UVM_FATAL :    0");
  endfunction
endclass

// Never ends: keeps its objection and waits forever (used to test the run time limit).
class smoke_hang_test extends smoke_base_test;
  `uvm_component_utils(smoke_hang_test)

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  task run_phase(uvm_phase phase);
    phase.raise_objection(this);
    forever @(posedge vif.clk);
  endtask
endclass
