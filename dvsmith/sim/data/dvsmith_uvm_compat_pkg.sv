// dvsmith's UVM 1.1/1.2 compatibility package, written for UVM 1800.2-2017 compiled with
// +define+UVM_ENABLE_DEPRECATED_API. It supplies what 2017 dropped altogether and a 1.2 testbench
// still uses: the global `uvm_test_done` objection (2017 keeps the class uvm_test_done_objection, and
// with the deprecated API the run phase's objection is uvm_test_done_objection::get(), exactly as in
// 1.2), set_global_timeout/set_global_stop_timeout, UVM 1.1's global `factory` (1.2 and 2017 have
// only uvm_factory::get(); a proxy forwards to it) and 1.1's SEQ_ARB_* arbitration mode names. dvsmith
// compiles this file right after uvm_pkg.sv and adds `import dvsmith_uvm_compat_pkg::*;` after the
// testbench's `import uvm_pkg::*;`.
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

  // UVM 1.1's global factory: every uvm_factory method a testbench calls, forwarded to uvm_factory::get()
  class dvsmith_factory_proxy;
    function uvm_factory get();
      return uvm_factory::get();
    endfunction

    function void register(uvm_object_wrapper obj);
      get().register(obj);
    endfunction

    function void set_inst_override_by_type(uvm_object_wrapper original_type, uvm_object_wrapper override_type,
                                            string full_inst_path);
      get().set_inst_override_by_type(original_type, override_type, full_inst_path);
    endfunction

    function void set_inst_override_by_name(string original_type_name, string override_type_name,
                                            string full_inst_path);
      get().set_inst_override_by_name(original_type_name, override_type_name, full_inst_path);
    endfunction

    function void set_type_override_by_type(uvm_object_wrapper original_type, uvm_object_wrapper override_type,
                                            bit replace = 1);
      get().set_type_override_by_type(original_type, override_type, replace);
    endfunction

    function void set_type_override_by_name(string original_type_name, string override_type_name,
                                            bit replace = 1);
      get().set_type_override_by_name(original_type_name, override_type_name, replace);
    endfunction

    function uvm_object create_object_by_type(uvm_object_wrapper requested_type, string parent_inst_path = "",
                                              string name = "");
      return get().create_object_by_type(requested_type, parent_inst_path, name);
    endfunction

    function uvm_component create_component_by_type(uvm_object_wrapper requested_type,
                                                    string parent_inst_path = "", string name,
                                                    uvm_component parent);
      return get().create_component_by_type(requested_type, parent_inst_path, name, parent);
    endfunction

    function uvm_object create_object_by_name(string requested_type_name, string parent_inst_path = "",
                                              string name = "");
      return get().create_object_by_name(requested_type_name, parent_inst_path, name);
    endfunction

    function uvm_component create_component_by_name(string requested_type_name, string parent_inst_path = "",
                                                    string name, uvm_component parent);
      return get().create_component_by_name(requested_type_name, parent_inst_path, name, parent);
    endfunction

    function void debug_create_by_type(uvm_object_wrapper requested_type, string parent_inst_path = "",
                                       string name = "");
      get().debug_create_by_type(requested_type, parent_inst_path, name);
    endfunction

    function void debug_create_by_name(string requested_type_name, string parent_inst_path = "",
                                       string name = "");
      get().debug_create_by_name(requested_type_name, parent_inst_path, name);
    endfunction

    function uvm_object_wrapper find_override_by_type(uvm_object_wrapper requested_type, string full_inst_path);
      return get().find_override_by_type(requested_type, full_inst_path);
    endfunction

    function uvm_object_wrapper find_override_by_name(string requested_type_name, string full_inst_path);
      return get().find_override_by_name(requested_type_name, full_inst_path);
    endfunction

    function uvm_object_wrapper find_wrapper_by_name(string type_name);
      return get().find_wrapper_by_name(type_name);
    endfunction

    function bit is_type_name_registered(string type_name);
      return get().is_type_name_registered(type_name);
    endfunction

    function bit is_type_registered(uvm_object_wrapper obj);
      return get().is_type_registered(obj);
    endfunction

    function void print(int all_types = 1);
      get().print(all_types);
    endfunction
  endclass

  dvsmith_factory_proxy factory = new();

  // UVM 1.1's names of the sequencer arbitration modes (1.2 and 2017 spell them UVM_SEQ_ARB_*)
  parameter uvm_sequencer_arb_mode SEQ_ARB_FIFO = UVM_SEQ_ARB_FIFO;
  parameter uvm_sequencer_arb_mode SEQ_ARB_WEIGHTED = UVM_SEQ_ARB_WEIGHTED;
  parameter uvm_sequencer_arb_mode SEQ_ARB_RANDOM = UVM_SEQ_ARB_RANDOM;
  parameter uvm_sequencer_arb_mode SEQ_ARB_STRICT_FIFO = UVM_SEQ_ARB_STRICT_FIFO;
  parameter uvm_sequencer_arb_mode SEQ_ARB_STRICT_RANDOM = UVM_SEQ_ARB_STRICT_RANDOM;
  parameter uvm_sequencer_arb_mode SEQ_ARB_USER = UVM_SEQ_ARB_USER;

  function automatic void set_global_timeout(time timeout, bit overridable = 1);
    uvm_root top = uvm_root::get();
    top.set_timeout(timeout, overridable);
  endfunction

  function automatic void set_global_stop_timeout(time timeout);
    // 2017 has no stop phase timeout: the run phase's drain time is the closest thing
  endfunction
endpackage
