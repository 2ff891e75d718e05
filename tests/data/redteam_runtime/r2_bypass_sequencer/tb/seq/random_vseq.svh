// Runs a random APB mix, then reads every register.
class random_vseq extends uvm_sequence;
  `uvm_object_utils(random_vseq)
  `uvm_declare_p_sequencer(reg_vsequencer)

  function new(string name = "random_vseq");
    super.new(name);
  endfunction

  task body();
    apb_rand_seq rseq;
    apb_read_seq rd;
    `uvm_do(rseq, p_sequencer.apb_sqr)
    for (int a = 0; a < 16; a += 4) begin
      rd = apb_read_seq::type_id::create("rd");
      rd.addr = 4'(a);
      rd.start(p_sequencer.apb_sqr, this);
    end
  endtask
endclass
