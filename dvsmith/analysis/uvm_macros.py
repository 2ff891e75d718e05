"""Stub definitions of the UVM macros, so a repo parses without the UVM library.

The stubs keep what the analysis needs visible in the syntax tree: the sequence-starting macros
(`uvm_do` and friends) expand to a call of a marker function whose arguments are the macro's
sequence and sequencer arguments; `uvm_declare_p_sequencer` declares ``p_sequencer``. Everything
else expands to nothing (declarations) or to an empty ``begin end`` (report statements).
"""

from __future__ import annotations

#: marker functions the stubs call; the parser recognises them
DO_MARKER = "dvsmith__uvm_do"
DO_ON_MARKER = "dvsmith__uvm_do_on"

_EMPTY_WITH_ARGS = [
    "uvm_object_utils",
    "uvm_object_param_utils",
    "uvm_object_utils_begin",
    "uvm_object_param_utils_begin",
    "uvm_object_abstract_utils",
    "uvm_object_abstract_utils_begin",
    "uvm_object_abstract_param_utils",
    "uvm_object_abstract_param_utils_begin",
    "uvm_component_utils",
    "uvm_component_param_utils",
    "uvm_component_utils_begin",
    "uvm_component_param_utils_begin",
    "uvm_component_abstract_utils",
    "uvm_component_abstract_utils_begin",
    "uvm_component_abstract_param_utils",
    "uvm_component_abstract_param_utils_begin",
    "uvm_field_utils_begin",
    "uvm_sequence_utils",
    "uvm_sequence_utils_begin",
    "uvm_sequencer_utils",
    "uvm_sequencer_utils_begin",
    "uvm_sequencer_param_utils",
    "uvm_sequencer_param_utils_begin",
    "uvm_sequence_library_utils",
    "uvm_add_to_seq_lib",
    "uvm_add_to_sequence_library",
    "uvm_update_sequence_lib",
    "uvm_update_sequence_lib_and_item",
    "uvm_register_cb",
    "uvm_set_super_type",
    "uvm_object_registry",
    "uvm_component_registry",
    "uvm_type_name_decl",
    "uvm_declare_type_alias",
    "uvm_analysis_imp_decl",
    "uvm_blocking_put_imp_decl",
    "uvm_nonblocking_put_imp_decl",
    "uvm_put_imp_decl",
    "uvm_blocking_get_imp_decl",
    "uvm_nonblocking_get_imp_decl",
    "uvm_get_imp_decl",
    "uvm_blocking_peek_imp_decl",
    "uvm_nonblocking_peek_imp_decl",
    "uvm_peek_imp_decl",
    "uvm_blocking_get_peek_imp_decl",
    "uvm_nonblocking_get_peek_imp_decl",
    "uvm_get_peek_imp_decl",
    "uvm_blocking_transport_imp_decl",
    "uvm_nonblocking_transport_imp_decl",
    "uvm_transport_imp_decl",
    "uvm_blocking_master_imp_decl",
    "uvm_nonblocking_master_imp_decl",
    "uvm_master_imp_decl",
    "uvm_blocking_slave_imp_decl",
    "uvm_nonblocking_slave_imp_decl",
    "uvm_slave_imp_decl",
]

_FIELD_KINDS = [
    "int",
    "object",
    "string",
    "enum",
    "real",
    "event",
    "sarray_int",
    "sarray_object",
    "sarray_string",
    "sarray_enum",
    "sarray_real",
    "array_int",
    "array_object",
    "array_string",
    "array_enum",
    "array_real",
    "queue_int",
    "queue_object",
    "queue_string",
    "queue_enum",
    "queue_real",
    "aa_int_string",
    "aa_object_string",
    "aa_string_string",
    "aa_object_int",
    "aa_int_int",
    "aa_int_int_unsigned",
    "aa_int_integer",
    "aa_int_integer_unsigned",
    "aa_int_byte",
    "aa_int_byte_unsigned",
    "aa_int_shortint",
    "aa_int_shortint_unsigned",
    "aa_int_longint",
    "aa_int_longint_unsigned",
    "aa_int_key",
    "aa_string_int",
    "aa_int_enumkey",
]

_EMPTY_NO_ARGS = [
    "uvm_object_utils_end",
    "uvm_component_utils_end",
    "uvm_field_utils_end",
    "uvm_sequence_utils_end",
    "uvm_sequencer_utils_end",
    "uvm_info_end",
    "uvm_warning_end",
    "uvm_error_end",
    "uvm_fatal_end",
    "uvm_message_end",
    "uvm_info_context_end",
    "uvm_warning_context_end",
    "uvm_error_context_end",
    "uvm_fatal_context_end",
    "UVM_MAJOR_REV",
    "UVM_MINOR_REV",
    "UVM_VERSION_1_2",
    "uvm_file",
    "uvm_line",
]

_STATEMENTS = [
    "uvm_info",
    "uvm_warning",
    "uvm_error",
    "uvm_fatal",
    "uvm_info_context",
    "uvm_warning_context",
    "uvm_error_context",
    "uvm_fatal_context",
    "uvm_info_begin",
    "uvm_warning_begin",
    "uvm_error_begin",
    "uvm_fatal_begin",
    "uvm_info_context_begin",
    "uvm_warning_context_begin",
    "uvm_error_context_begin",
    "uvm_fatal_context_begin",
    "uvm_create",
    "uvm_create_on",
    "uvm_create_seq",
    "uvm_do_callbacks",
    "uvm_do_obj_callbacks",
    "uvm_do_callbacks_exit_on",
    "uvm_do_obj_callbacks_exit_on",
    "uvm_do_all_callbacks",
]

# sequence-starting macros: (name, index of the sequencer argument or None)
_DO_MACROS: list[tuple[str, int | None]] = [
    ("uvm_do", None),
    ("uvm_do_with", None),
    ("uvm_do_pri", None),
    ("uvm_do_pri_with", None),
    ("uvm_send", None),
    ("uvm_send_pri", None),
    ("uvm_rand_send", None),
    ("uvm_rand_send_with", None),
    ("uvm_rand_send_pri", None),
    ("uvm_rand_send_pri_with", None),
    ("uvm_do_seq", None),
    ("uvm_do_seq_with", None),
    ("uvm_do_on", 1),
    ("uvm_do_on_with", 1),
    ("uvm_do_on_pri", 1),
    ("uvm_do_on_pri_with", 1),
]

_ANY_ARGS = "A0=,A1=,A2=,A3=,A4=,A5=,A6=,A7="


def _build() -> str:
    lines: list[str] = []
    for name in _EMPTY_WITH_ARGS:
        lines.append(f"`define {name}({_ANY_ARGS})")
    for kind in _FIELD_KINDS:
        lines.append(f"`define uvm_field_{kind}({_ANY_ARGS})")
    for name in _EMPTY_NO_ARGS:
        lines.append(f"`define {name}")
    for name in _STATEMENTS:
        lines.append(f"`define {name}({_ANY_ARGS}) begin end")
    for name, sqr in _DO_MACROS:
        if sqr is None:
            lines.append(f"`define {name}(S,{_ANY_ARGS}) begin {DO_MARKER}(S); end")
        else:
            lines.append(f"`define {name}(S,Q,{_ANY_ARGS}) begin {DO_ON_MARKER}(S, Q); end")
    lines.append("`define uvm_declare_p_sequencer(SQR) SQR p_sequencer;")
    lines.append("`define uvm_sequence_utils_declare_p_sequencer(SQR) SQR p_sequencer;")
    return "\n".join(lines) + "\n"


PRELUDE = _build()
PRELUDE_VERSION = "1"


def generic_stub(name: str, with_args: bool) -> str:
    """A definition that swallows any use of an unknown macro (up to eight arguments)."""
    return f"`define {name}({_ANY_ARGS})\n" if with_args else f"`define {name}\n"
