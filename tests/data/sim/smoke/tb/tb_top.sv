module tb_top;
  import uvm_pkg::*;
  import smoke_pkg::*;
  `include "uvm_macros.svh"

  logic clk = 1'b0;
  always #5 clk = ~clk;

  smoke_if sif (.clk(clk));
  counter #(.W(4)) dut (
    .clk(clk), .rst_n(sif.rst_n), .en(sif.en), .count(sif.count), .wrapped(sif.wrapped)
  );

  initial begin
    uvm_config_db#(virtual smoke_if)::set(null, "uvm_test_top", "vif", sif);
    run_test();
  end
endmodule
