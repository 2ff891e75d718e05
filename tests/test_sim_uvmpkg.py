"""UVM without its register layer when a testbench never names it (sim/uvmpkg.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dvsmith.sim.uvmpkg import uses_register_layer, uvm_package

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize(
    ("text", "uses"),
    [
        ("// a uvm_reg_block in a comment\n", False),
        ('string s = "uvm_reg_block";\n', False),
        ("class m extends uvm_reg_block; endclass\n", True),
        ("`uvm_reg_field_utils(x)\n", True),
        ("uvm_mem m;\n", True),
        ("class t extends uvm_test; endclass\n", False),
    ],
)
def test_register_layer_is_seen_in_tokens_only(tmp_path: Path, text: str, uses: bool) -> None:
    f = tmp_path / "x.sv"
    f.write_text(text)
    assert uses_register_layer([f]) is uses


def test_no_fixture_uses_the_register_layer() -> None:
    files = [p for p in FIXTURES.rglob("*") if p.suffix in {".sv", ".svh"}]
    assert files and not uses_register_layer(files)


def test_subset_package_drops_only_the_register_include(tmp_path: Path) -> None:
    home = tmp_path / "uvm"
    (home / "src").mkdir(parents=True)
    text = (
        '`include "uvm_macros.svh"\npackage uvm_pkg;\n  `include "base/uvm_base.svh"\n'
        '  `include "reg/uvm_reg_model.svh"\nendpackage\n'
    )
    (home / "src" / "uvm_pkg.sv").write_text(text)
    assert uvm_package(home, register_layer=True) == home / "src" / "uvm_pkg.sv"
    sub = uvm_package(home, register_layer=False)
    body = sub.read_text()
    assert "reg/uvm_reg_model.svh" not in body and '`include "base/uvm_base.svh"' in body
    assert uvm_package(home, register_layer=False) == sub  # content-addressed, written once
    (home / "src" / "uvm_pkg.sv").write_text("package uvm_pkg;\nendpackage\n")  # an unknown layout
    assert uvm_package(home, register_layer=False) == home / "src" / "uvm_pkg.sv"
