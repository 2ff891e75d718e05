"""`python -m dvsmith` runs the command line (the warm-ingest shortcut first, see dvsmith.cli.launch)."""

from dvsmith.cli.launch import main

main()
