#!/bin/sh
# Verilator's SMT solver for constrained randomize(), run through dvsmith (VERILATOR_SOLVER, sim/solver.py):
# z3 unchanged, its replies passed on line by line unchanged, and every "(error ...)" reply also appended
# to $DVSMITH_SOLVER_LOG. Such a reply means Verilator sent a query z3 rejects (a constraint Verilator
# translated wrongly); Verilator then reads it where it waits for "sat", and a run can wait forever. The
# log lets the build say so instead of only "time limit".
"$DVSMITH_Z3" "$@" | while IFS= read -r line; do
  printf '%s\n' "$line"
  case "$line" in
    "(error"*) printf '%s\n' "$line" >> "$DVSMITH_SOLVER_LOG" ;;
  esac
done
