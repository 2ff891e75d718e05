interface smoke_if (input logic clk);
  logic       rst_n;
  logic       en;
  logic [3:0] count;
  logic       wrapped;
endinterface
