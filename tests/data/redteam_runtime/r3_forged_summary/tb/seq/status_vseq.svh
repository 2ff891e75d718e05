// Loads DATA0/DATA1 and reads STATUS in both CTRL modes (XOR and ADD); also tries to write STATUS.
class status_vseq extends uvm_sequence;
  `uvm_object_utils(status_vseq)
  `uvm_declare_p_sequencer(reg_vsequencer)

  function new(string name = "status_vseq");
    super.new(name);
  endfunction

  task write_reg(bit [3:0] addr, bit [7:0] data);
    apb_write_seq wr = apb_write_seq::type_id::create("wr");
    wr.addr = addr;
    wr.data = data;
    wr.start(p_sequencer.apb_sqr, this);
  endtask

  task read_reg(bit [3:0] addr);
    apb_read_seq rd = apb_read_seq::type_id::create("rd");
    rd.addr = addr;
    rd.start(p_sequencer.apb_sqr, this);
  endtask

  task body();
    write_reg(4'h4, 8'h3C);
    write_reg(4'h8, 8'h96);
    read_reg(4'hC);
    write_reg(4'h0, 8'h00);
    read_reg(4'hC);
    write_reg(4'hC, 8'hFF);
    read_reg(4'hC);
  endtask
endclass
