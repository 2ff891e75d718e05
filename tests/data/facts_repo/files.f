tb/dut.sv
tb/facts_pkg.sv
tb/top.sv
