"""The kiosk's outcome table comes from the server: every outcome has a row, and kiosk.js copies none."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from attendance.checkin.outcomes import KIOSK_OUTCOMES, KIOSK_TEXTS
from attendance.models import CheckinAttempt

KIOSK_JS = Path(settings.BASE_DIR) / "static" / "kiosk" / "kiosk.js"


def kiosk_config(client) -> dict:
    html = client.get("/kiosk/").content.decode()
    block = re.search(r'<script id="kiosk-config" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_every_outcome_and_every_final_state_has_a_row_on_the_kiosk_page(client):
    """The page carries a row for each outcome code the services can write, and for expired and failed."""
    outcomes = kiosk_config(client)["outcomes"]
    assert set(outcomes) == {*CheckinAttempt.Outcome.values, "expired", "failed"}
    assert outcomes["checked_in"]["hold_ms"] > 0 and outcomes["checked_in"]["disarm"] is True
    assert outcomes["expired"]["text"] == "busy"


def test_every_text_a_row_names_is_sent_to_the_page(client):
    """A row that shows a text of the kiosk's own names one the page receives."""
    config = kiosk_config(client)
    named = {row[key] for row in config["outcomes"].values() for key in ("text", "detail") if key in row}
    assert named <= set(config["texts"])
    assert config["texts"] == KIOSK_TEXTS


@pytest.mark.parametrize("code", [str(code) for code in KIOSK_OUTCOMES])
def test_kiosk_js_copies_no_outcome_code(code):
    """kiosk.js looks outcomes up in the table: it never compares an attempt with a code of its own."""
    script = KIOSK_JS.read_text()
    assert not re.search(rf'(===?|!==?|case)\s*"{code}"', script)
    assert "switch" not in script


def test_kiosk_js_copies_no_sentence():
    """kiosk.js says nothing of its own: every sentence of the kiosk comes from the server."""
    script = KIOSK_JS.read_text()
    copied = [text for text in KIOSK_TEXTS.values() if f'"{text}"' in script or f"'{text}'" in script]
    assert copied == []
    assert "Not recognised" not in script and "Checked in" not in script
