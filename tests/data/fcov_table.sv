// Constructs table for the covergroup lowering (tests/test_sim_covergroups.py): one covergroup per
// construct, driven by a fixed stimulus; the expected bin counts (worked out by hand from IEEE
// 1800-2017 clause 19) are in the test.
class holder;
  bit [3:0] val;
  event ev;
  covergroup hcg;
    cp: coverpoint val { bins lo = {[0:7]}; bins hi = {[8:15]}; }
  endgroup
  covergroup ecg @(ev);
    cp: coverpoint val { bins any = {[0:15]}; }
  endgroup
  function new();
    hcg = new();
    this.ecg = new;
  endfunction
  function void put(bit [3:0] x);
    val = x;
    hcg.sample();
  endfunction
endclass

module fcov_table;
  bit [3:0] v;
  bit [1:0] a2;
  bit b1;
  bit en;
  bit signed [2:0] s;
  bit clk;

  covergroup cg_values;
    coverpoint v { bins lo = {[0:3], 5}; bins hi = {[8:10]}; bins one = {7}; }
  endgroup
  covergroup cg_array;
    coverpoint v { bins a[] = {[1:3], 6}; }
  endgroup
  covergroup cg_fixed;
    coverpoint v { bins f[4] = {[1:10], 1, 4, 7}; }
  endgroup
  covergroup cg_default;
    coverpoint v { bins a = {1}; bins other = default; }
  endgroup
  covergroup cg_ignore_illegal;
    coverpoint v { bins all[] = {[0:3]}; ignore_bins ig = {2}; illegal_bins il = {3}; }
  endgroup
  covergroup cg_auto;
    coverpoint a2;
  endgroup
  covergroup cg_auto_max;
    option.auto_bin_max = 3;
    coverpoint v;
  endgroup
  covergroup cg_auto_signed;
    coverpoint s;
  endgroup
  covergroup cg_at_least;
    option.at_least = 2;
    coverpoint v { bins a = {1}; bins b = {2}; }
  endgroup
  covergroup cg_weight;
    p1: coverpoint v { option.weight = 3; bins a = {1}; bins b = {2}; }
    p2: coverpoint v { bins a = {1}; }
  endgroup
  covergroup cg_iff;
    coverpoint v iff (en) { bins a = {1}; }
  endgroup
  covergroup cg_trans;
    coverpoint v {
      bins t12 = (1 => 2);
      bins t123 = (1 => 2 => 3);
      bins r3 = (4 [*3]);
      bins alt = (5 => 6), (7 => 8);
      bins set = (1, 2 => 5);
      bins never = (9 => 9);
    }
  endgroup
  covergroup cg_cross;
    cp_a: coverpoint a2 { bins z = {0}; bins nz = {[1:3]}; }
    cp_b: coverpoint b1;
    x: cross cp_a, cp_b;
  endgroup
  covergroup cg_cross_sel;
    cp_a: coverpoint a2 { bins v[] = {[0:3]}; }
    cp_b: coverpoint b1 { bins f = {0}; bins t = {1}; }
    x: cross cp_a, cp_b {
      bins lowa = binsof(cp_a) intersect {[0:1]};
      bins a3t = binsof(cp_a.v) intersect {3} && binsof(cp_b.t);
      ignore_bins ig = binsof(cp_a) intersect {2};
    }
  endgroup
  covergroup cg_cross_vars;
    x: cross a2, b1;
  endgroup
  covergroup cg_args(int lo, int hi);
    coverpoint v { bins in_r = {[lo:hi]}; bins above = {[hi+1:$]}; }
  endgroup
  covergroup cg_sample_fn with function sample(bit [3:0] x);
    coverpoint x { bins even = {0, 2, 4, 6}; bins odd = {1, 3, 5, 7}; }
  endgroup
  covergroup cg_clock @(posedge clk);
    coverpoint v { bins a = {1}; bins b = {2}; }
  endgroup
  covergroup cg_startstop;
    coverpoint v { bins a = {1}; }
  endgroup
  covergroup cg_per_inst;
    option.per_instance = 1;
    coverpoint v { bins a = {1}; bins b = {2}; }
  endgroup
  covergroup cg_goal;
    option.goal = 80;
    coverpoint v { bins a = {1}; }
  endgroup
  covergroup cg_unsupported;
    coverpoint v { wildcard bins w = {4'b1??0}; }
  endgroup

  cg_values c_values = new;
  cg_array c_array = new;
  cg_fixed c_fixed = new;
  cg_default c_default = new;
  cg_ignore_illegal c_ignore_illegal = new;
  cg_auto c_auto = new;
  cg_auto_max c_auto_max = new;
  cg_auto_signed c_auto_signed = new;
  cg_at_least c_at_least = new;
  cg_weight c_weight = new;
  cg_iff c_iff = new;
  cg_trans c_trans = new;
  cg_cross c_cross = new;
  cg_cross_sel c_cross_sel = new;
  cg_cross_vars c_cross_vars = new;
  cg_args c_args = new(2, 5);
  cg_sample_fn c_sample_fn = new;
  cg_clock c_clock = new;
  cg_startstop c_startstop = new;
  cg_per_inst c_pi1 = new;
  cg_per_inst c_pi2 = new;
  cg_goal c_goal = new;
  cg_unsupported c_unsupported = new;

  task automatic put_v(bit [3:0] x);
    v = x;
    c_values.sample();
    c_array.sample();
    c_fixed.sample();
  endtask

  initial begin
    holder h = new();
    v = 0; c_values.sample(); v = 5; c_values.sample(); v = 5; c_values.sample();
    v = 9; c_values.sample(); v = 12; c_values.sample();
    v = 1; c_array.sample(); v = 3; c_array.sample(); v = 3; c_array.sample(); v = 7; c_array.sample();
    v = 1; c_fixed.sample(); v = 10; c_fixed.sample(); v = 5; c_fixed.sample();
    v = 1; c_default.sample(); v = 2; c_default.sample(); v = 3; c_default.sample();
    v = 0; c_ignore_illegal.sample(); v = 2; c_ignore_illegal.sample(); v = 3; c_ignore_illegal.sample();
    a2 = 0; c_auto.sample(); a2 = 3; c_auto.sample(); c_auto.sample();
    v = 4; c_auto_max.sample(); v = 10; c_auto_max.sample(); v = 15; c_auto_max.sample();
    s = -4; c_auto_signed.sample(); s = -1; c_auto_signed.sample(); s = 3; c_auto_signed.sample();
    v = 1; c_at_least.sample(); c_at_least.sample(); v = 2; c_at_least.sample();
    v = 1; c_weight.sample();
    v = 1; en = 0; c_iff.sample(); en = 1; c_iff.sample(); en = 0; c_iff.sample();
    v = 1; c_trans.sample(); v = 2; c_trans.sample(); v = 3; c_trans.sample();
    v = 4; c_trans.sample(); c_trans.sample(); c_trans.sample(); c_trans.sample();
    v = 5; c_trans.sample(); v = 6; c_trans.sample(); v = 2; c_trans.sample(); v = 5; c_trans.sample();
    a2 = 0; b1 = 0; c_cross.sample(); a2 = 2; b1 = 1; c_cross.sample(); a2 = 3; b1 = 1; c_cross.sample();
    a2 = 0; b1 = 1; c_cross_sel.sample(); a2 = 3; b1 = 1; c_cross_sel.sample(); a2 = 2; b1 = 0; c_cross_sel.sample();
    a2 = 1; b1 = 0; c_cross_vars.sample(); c_cross_vars.sample(); a2 = 2; b1 = 1; c_cross_vars.sample();
    v = 3; c_args.sample(); v = 6; c_args.sample(); v = 15; c_args.sample();
    c_sample_fn.sample(4'd2); c_sample_fn.sample(4'd4); c_sample_fn.sample(4'd9);
    v = 1; c_startstop.sample(); c_startstop.stop(); c_startstop.sample(); c_startstop.start(); c_startstop.sample();
    v = 1; c_pi1.sample(); c_pi2.sample(); v = 2; c_pi2.sample();
    v = 1; c_goal.sample();
    h.put(3); h.put(4);
    #1 ->h.ev;
    #1 ->h.ev;
    // cg_clock: v is 1 at the first posedge, 2 at the second, 3 at the third
    v = 1;
    #3 clk = 1;
    #1 clk = 0; v = 2;
    #1 clk = 1;
    #1 clk = 0; v = 3;
    #1 clk = 1;
    #1 clk = 0;
    $display("GC cg_values %0.2f", c_values.get_coverage());
    $display("GC cg_weight %0.2f", c_weight.get_coverage());
    $display("GC cg_cross %0.2f", c_cross.get_coverage());
    $display("GC cg_cross_sel %0.2f", c_cross_sel.get_coverage());
    $display("GC cg_pi1_inst %0.2f", c_pi1.get_inst_coverage());
    $display("GC cg_pi2_inst %0.2f", c_pi2.get_inst_coverage());
    $display("GC cg_per_inst %0.2f", cg_per_inst::get_coverage());
    $display("GC holder_hcg %0.2f", h.hcg.get_coverage());
    $display("GC cp_weight_p1 %0.2f", c_weight.p1.get_coverage());
    $finish;
  end
endmodule
