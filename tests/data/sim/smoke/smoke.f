+incdir+tb
rtl/counter.sv
tb/smoke_if.sv
tb/smoke_pkg.sv
tb/tb_top.sv
