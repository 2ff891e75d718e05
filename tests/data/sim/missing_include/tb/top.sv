module top;
  import uvm_pkg::*;
  import mi_pkg::*;
  initial run_test();
endmodule
