"""`python -m dvsmith` runs the command line (the warm-ingest shortcut first, see dvsmith.cli.warm)."""

from dvsmith.cli.warm import main

main()
