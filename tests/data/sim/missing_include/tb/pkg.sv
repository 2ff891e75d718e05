// The include below is found only with +incdir+lib, which files.f forgets: the compile of the original
// and of the gym fails in Verilator's front end, and doctor names the folder that would have found it.
package mi_pkg;
  import uvm_pkg::*;
  `include "uvm_macros.svh"
  `include "cfg/env_cfg.svh"
  class base_test extends uvm_test;
    `uvm_component_utils(base_test)
    env_cfg cfg;
    function new(string name, uvm_component parent); super.new(name, parent); endfunction
  endclass
  class idle_test extends base_test;
    `uvm_component_utils(idle_test)
    function new(string name, uvm_component parent); super.new(name, parent); endfunction
    task run_phase(uvm_phase phase);
      phase.raise_objection(this);
      #10;
      phase.drop_objection(this);
    endtask
  endclass
endpackage
