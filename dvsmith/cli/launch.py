"""The ``dvsmith`` command: the warm-ingest shortcut first (``dvsmith.cli.warm``), else the typer app.

The shortcut imports only the standard library, orjson and dvsmith's path helpers, so a warm
``dvsmith ingest REPO`` answers before typer, rich and pydantic load; ``dvsmith.cli.main`` loads only
when the shortcut does not answer.
"""

from __future__ import annotations

import sys
import time

from dvsmith.cli.warm import replay


def main() -> None:
    started = time.perf_counter()
    try:
        code = replay(sys.argv[1:], started)
    except KeyboardInterrupt:  # Ctrl-C within the shortcut: the CLI's one line and exit code
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    if code is not None:
        sys.exit(code)
    from dvsmith.cli.main import app

    app(prog_name="dvsmith")
