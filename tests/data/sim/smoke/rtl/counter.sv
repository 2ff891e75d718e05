// A tiny DUT for the simulator smoke test: a counter with enable and a wrap flag.
module counter #(parameter int W = 4) (
  input  logic         clk,
  input  logic         rst_n,
  input  logic         en,
  output logic [W-1:0] count,
  output logic         wrapped
);
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      count   <= '0;
      wrapped <= 1'b0;
    end else if (en) begin
      if (count == {W{1'b1}}) begin
        count   <= '0;
        wrapped <= 1'b1;
      end else begin
        count <= count + 1'b1;
      end
    end
  end

  cover property (@(posedge clk) disable iff (!rst_n) en && count == {W{1'b1}});
endmodule
