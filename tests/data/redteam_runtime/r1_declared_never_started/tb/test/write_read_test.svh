// Red-team R1: write_read_vseq exists (the structure check passes) but is never started: the test
// starts the gym's shared apb_write_seq/apb_read_seq on the agent's sequencer itself.
class write_read_test extends base_test;
  `uvm_component_utils(write_read_test)

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  task run_phase(uvm_phase phase);
    apb_write_seq wr;
    apb_read_seq rd;
    phase.raise_objection(this);
    for (int a = 0; a < 12; a += 4) begin
      wr = apb_write_seq::type_id::create("wr");
      wr.addr = a;
      wr.data = 8'h5A ^ 8'(a);
      wr.start(env.agt.sqr);
      rd = apb_read_seq::type_id::create("rd");
      rd.addr = a;
      rd.start(env.agt.sqr);
    end
    #20;
    phase.drop_objection(this);
  endtask
endclass
