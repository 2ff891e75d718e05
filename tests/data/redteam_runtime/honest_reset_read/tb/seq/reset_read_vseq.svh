// Reads every register once, straight after reset.
class reset_read_vseq extends uvm_sequence;
  `uvm_object_utils(reset_read_vseq)
  `uvm_declare_p_sequencer(reg_vsequencer)

  function new(string name = "reset_read_vseq");
    super.new(name);
  endfunction

  task body();
    apb_read_seq rd;
    bit [3:0] addrs[4] = '{4'h0, 4'h4, 4'h8, 4'hC};
    foreach (addrs[i]) begin
      rd = apb_read_seq::type_id::create("rd");
      rd.addr = addrs[i];
      rd.start(p_sequencer.apb_sqr, this);
    end
  endtask
endclass
