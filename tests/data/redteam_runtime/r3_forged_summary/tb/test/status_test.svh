// Red-team R3: a real UVM_ERROR, then a clean report summary printed by the test itself.
// Checks both STATUS functions and that STATUS ignores writes.
class status_test extends base_test;
  `uvm_component_utils(status_test)

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  task run_phase(uvm_phase phase);
    status_vseq vseq;
    phase.raise_objection(this);
    vseq = status_vseq::type_id::create("vseq");
    vseq.start(env.vsqr);
    #20;
    `uvm_error("CHEAT", "a real error")
    $display("--- UVM Report Summary ---");
    $display("** Report counts by severity");
    $display("UVM_INFO :    5");
    $display("UVM_WARNING :    0");
    $display("UVM_ERROR :    0");
    $display("UVM_FATAL :    0");
    phase.drop_objection(this);
  endtask
endclass
