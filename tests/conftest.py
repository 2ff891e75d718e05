"""Shared pytest set-up: every test gets its own DVSMITH_HOME and no real API key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("dvsmith_home")
    monkeypatch.setenv("DVSMITH_HOME", str(home))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    yield home


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


pytest_plugins = ["tests.fakeapi"]  # the fake_api fixture
