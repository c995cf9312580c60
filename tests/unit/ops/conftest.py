"""What the CLI tests of the key share: a key to look for, and an environment of settings without it."""
from __future__ import annotations

import pytest

from hub_import.core.settings_table import ENV

SECRET = "sk-7f3a9c2e41b8d6aa"
BASE = {"GOOGLE_CLOUD_PROJECT": "p", "HUB_PROJECT_ID": "proj", "STATE_BUCKET": "state", "HUB_PUBLIC_BUCKET": "true"}


@pytest.fixture
def env(monkeypatch):
    """Every setting unset but BASE (so no HUB_API_KEY)."""
    for name in list(ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
