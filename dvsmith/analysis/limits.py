"""Constants of the parse step that the warm path needs without importing pyslang."""

from __future__ import annotations

FACTS_VERSION = "7"  # bump when the facts a file yields change shape or meaning
MAX_FILE_BYTES = 5 * 1024 * 1024  # larger files are skipped (a diagnostic says so), never parsed
