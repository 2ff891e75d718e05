package smoke_pkg;
  import uvm_pkg::*;
  `include "uvm_macros.svh"
  `include "smoke_tests.svh"
endpackage
