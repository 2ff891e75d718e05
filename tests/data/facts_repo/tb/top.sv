module top;
  import uvm_pkg::*;
  import facts_pkg::*;
  logic clk;
  dut u_dut(.clk(clk));
  initial run_test();
endmodule
