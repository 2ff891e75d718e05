// Checks the reset value of every register.
class reset_read_test extends base_test;
  `uvm_component_utils(reset_read_test)

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  task run_phase(uvm_phase phase);
    reset_read_vseq vseq;
    phase.raise_objection(this);
    vseq = reset_read_vseq::type_id::create("vseq");
    vseq.start(env.vsqr);
    #20;
    phase.drop_objection(this);
  endtask
endclass
