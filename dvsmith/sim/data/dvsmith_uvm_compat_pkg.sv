// dvsmith's UVM 1.1/1.2 compatibility package, written for UVM 1800.2-2017 compiled with
// +define+UVM_ENABLE_DEPRECATED_API. It supplies what 2017 dropped altogether and a 1.2 testbench
// still uses: the global `uvm_test_done` objection (2017 keeps the class uvm_test_done_objection, and
// with the deprecated API the run phase's objection is uvm_test_done_objection::get(), exactly as in
// 1.2) and set_global_timeout/set_global_stop_timeout. dvsmith compiles this file right after
// uvm_pkg.sv and adds `import dvsmith_uvm_compat_pkg::*;` after the testbench's `import uvm_pkg::*;`.
package dvsmith_uvm_compat_pkg;
  import uvm_pkg::*;

  // uvm_test_done as 1.2 had it: forwards to the run phase's objection, looked up when first used
  class dvsmith_test_done_proxy;
    local uvm_objection m_obj;

    function uvm_objection get();
      if (m_obj == null) m_obj = uvm_test_done_objection::get();
      return m_obj;
    endfunction

    function void raise_objection(uvm_object obj = null, string description = "", int count = 1);
      get().raise_objection(obj, description, count);
    endfunction

    function void drop_objection(uvm_object obj = null, string description = "", int count = 1);
      get().drop_objection(obj, description, count);
    endfunction

    function void set_drain_time(uvm_object obj = null, time drain);
      get().set_drain_time(obj, drain);
    endfunction

    function int get_objection_count(uvm_object obj = null);
      return get().get_objection_count(obj);
    endfunction

    function int get_objection_total(uvm_object obj = null);
      return get().get_objection_total(obj);
    endfunction

    function void display_objections(uvm_object obj = null, bit show_header = 1);
      get().display_objections(obj, show_header);
    endfunction
  endclass

  dvsmith_test_done_proxy uvm_test_done = new();

  function automatic void set_global_timeout(time timeout, bit overridable = 1);
    uvm_root top = uvm_root::get();
    top.set_timeout(timeout, overridable);
  endfunction

  function automatic void set_global_stop_timeout(time timeout);
    // 2017 has no stop phase timeout: the run phase's drain time is the closest thing
  endfunction
endpackage
