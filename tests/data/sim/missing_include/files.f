+incdir+tb
tb/pkg.sv
tb/top.sv
