"""On-disk cache of AI answers: one orjson file per key, written atomically.

The key is the sha256 of (provider, model, the full prompt including the shared prefix, the schema
version and the JSON schema), so any change to any of them is a miss. A file that cannot be read or
does not validate is a miss too (and gets rewritten by the next successful call). What is stored is
the validated answer trimmed to the schema's limits, never the raw text, so a record stays a few KB.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from dvsmith.ai.schema import METADATA_SCHEMA_VERSION
from dvsmith.paths import ai_cache_dir, atomic_write_bytes

CACHE_FORMAT = 1
MAX_RECORD_BYTES = 256 * 1024  # a trimmed answer is a few KB; anything far larger is not ours to trust


def cache_key(provider: str, model: str, prompt: dict[str, Any], schema: dict[str, Any]) -> str:
    """sha256 over everything that shapes an answer."""
    material = {
        "format": CACHE_FORMAT,
        "provider": provider,
        "model": model,
        "prompt": prompt,
        "schema_version": METADATA_SCHEMA_VERSION,
        "schema": schema,
    }
    return hashlib.sha256(orjson.dumps(material, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ResponseCache:
    """Answers keyed by :func:`cache_key`, under ``dvsmith.paths.ai_cache_dir()`` by default."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else ai_cache_dir()

    def path_for(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a cache key: {key!r}")
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer (a JSON object), or None on a miss or a corrupt file."""
        path = self.path_for(key)
        try:
            if path.stat().st_size > MAX_RECORD_BYTES:  # written by an older version from a raw answer
                return None
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("answer"), dict):
            return None
        return data["answer"]

    def put(self, key: str, answer: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        record = {
            "key": key,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "answer": answer,
            **(meta or {}),
        }
        atomic_write_bytes(self.path_for(key), orjson.dumps(record, option=orjson.OPT_SORT_KEYS))


def validated(answer: dict[str, Any], model: type) -> Any | None:
    """``model.model_validate(answer)`` or None when the stored answer no longer validates."""
    try:
        return model.model_validate(answer)
    except ValidationError:
        return None
