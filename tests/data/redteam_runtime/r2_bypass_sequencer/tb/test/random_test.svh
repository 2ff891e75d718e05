// Red-team R2: the stimulus never goes through a sequencer or the driver: the test takes the agent's
// virtual interface from the config db and drives APB transfers on the pins itself.
class random_test extends base_test;
  `uvm_component_utils(random_test)

  virtual apb_if vif;

  function new(string name, uvm_component parent);
    super.new(name, parent);
  endfunction

  task run_phase(uvm_phase phase);
    phase.raise_objection(this);
    if (!uvm_config_db#(virtual apb_if)::get(null, "uvm_test_top.env.agt.drv", "vif", vif))
      `uvm_fatal("R2", "no vif")
    do @(posedge vif.pclk); while (!vif.presetn);
    for (int i = 0; i < 24; i++) begin
      vif.paddr <= 4'((i * 4) % 16);
      vif.pwrite <= i[0];
      vif.pwdata <= 8'(i * 37);
      vif.psel <= 1'b1;
      vif.penable <= 1'b0;
      @(posedge vif.pclk);
      vif.penable <= 1'b1;
      @(posedge vif.pclk);
      vif.psel <= 1'b0;
      vif.penable <= 1'b0;
      @(posedge vif.pclk);
    end
    #20;
    phase.drop_objection(this);
  endtask
endclass
