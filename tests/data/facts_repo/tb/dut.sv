module dut(input logic clk);
endmodule
