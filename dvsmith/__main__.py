"""`python -m dvsmith` runs the command line."""

from dvsmith.cli.main import app

app(prog_name="dvsmith")
