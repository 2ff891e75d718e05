// A random mix of `n` reads and writes.
class apb_rand_seq extends apb_base_seq;
  `uvm_object_utils(apb_rand_seq)

  rand int unsigned n;
  constraint c_n { n inside {[6:12]}; }

  function new(string name = "apb_rand_seq");
    super.new(name);
  endfunction

  task body();
    repeat (n) begin
      `uvm_do(req)
    end
  endtask
endclass
