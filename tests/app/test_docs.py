"""The operator's guide documents every setting the server reads."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from app.settings import PREFIX, Settings

GUIDE = Path(__file__).parent.parent.parent / "docs" / "operating.md"


def test_every_setting_is_in_the_operating_guide() -> None:
    guide = GUIDE.read_text()

    missing = [
        PREFIX + field.name.upper()
        for field in fields(Settings)
        if f"`{PREFIX}{field.name.upper()}`" not in guide
    ]

    assert missing == []
