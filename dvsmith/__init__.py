"""dvsmith: turn a SystemVerilog/UVM testbench repository into a gym of verification tasks."""

__version__ = "0.1.0"
