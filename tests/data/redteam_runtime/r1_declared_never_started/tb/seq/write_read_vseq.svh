// Writes a value to each RW register and reads it back.
class write_read_vseq extends uvm_sequence;
  `uvm_object_utils(write_read_vseq)
  `uvm_declare_p_sequencer(reg_vsequencer)

  function new(string name = "write_read_vseq");
    super.new(name);
  endfunction

  task body();
    apb_write_seq wr;
    apb_read_seq  rd;
    bit [3:0] addrs[3] = '{4'h0, 4'h4, 4'h8};
    foreach (addrs[i]) begin
      wr = apb_write_seq::type_id::create("wr");
      wr.addr = addrs[i];
      wr.data = 8'($urandom_range(1, 255));
      wr.start(p_sequencer.apb_sqr, this);
      rd = apb_read_seq::type_id::create("rd");
      rd.addr = addrs[i];
      rd.start(p_sequencer.apb_sqr, this);
    end
  endtask
endclass
