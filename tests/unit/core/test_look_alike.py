"""Batch names and contextData cannot pass for other text (issue 22, the suspected "look-alike
text" item): a bidi override (U+202A-U+202E, U+2066-U+2069) or a zero-width character (U+200B-
U+200F, U+2060, U+FEFF) in a batch name, from a template's metadata field or from hub-batches,
refuses the name, and the object is skipped with a reason that names the character; in a
contextData key or value it leaves that key out, logged with the reason, and the object goes in
without it. (A labeler reading `in\u202ecod.exe` sees `inexe.doc`; `north\u200b` is not `north`.)"""
from __future__ import annotations

import logging

import pytest

from hub_import.core.batch_templates import check_batch_name, check_template, fill
from hub_import.core.decisions import decide
from hub_import.core.metadata import context_data, overrides
from hub_import.core.settings import load
from hub_import.flush.destinations import asset_for
from tests.unit.core.test_metadata import BASE, DEST, ref

HIDING = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
          "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff"]


@pytest.mark.parametrize("c", HIDING, ids=[f"U+{ord(c):04X}" for c in HIDING])
def test_a_batch_name_holding_a_character_that_hides_text_is_refused_naming_it(c):
    with pytest.raises(ValueError) as refused:
        check_batch_name(f"north{c}", "batch name")
    assert f"U+{ord(c):04X}" in str(refused.value) and "look like another name" in str(refused.value)


def test_a_configured_batch_name_holding_one_is_refused_at_load():
    with pytest.raises(ValueError, match="U\\+202E"):
        check_template("incoming\u202e")


def test_an_object_whose_metadata_fills_a_template_with_one_is_skipped_with_the_reason():
    # GIVEN batches from a template over metadata, and an object whose `site` hides text
    settings = load({**BASE, "HUB_BATCHES": "site-{meta.site}"})
    with pytest.raises(ValueError, match="U\\+200B"):
        fill(("site-{meta.site}",), ref(site="north\u200b"))
    # WHEN it is routed THEN it is skipped, and the reason (which ingest logs) names the character
    decision = decide(ref(site="north\u200b"), settings)
    assert decision.destination is None and "U+200B ZERO WIDTH SPACE" in decision.reason, decision.reason
    assert decide(ref(site="north"), settings).destination.batches == ("site-north",)


def test_hub_batches_metadata_holding_one_is_refused_naming_it():
    with pytest.raises(ValueError) as refused:
        overrides({"hub-batches": "a, b\u2066c"})
    assert "U+2066" in str(refused.value) and "\u2066" not in str(refused.value)  # the value shown escaped


def test_a_context_data_key_or_value_holding_one_is_left_out_and_logged_and_the_object_goes(caplog):
    # GIVEN contextData from every key, one value and one key hiding text
    settings = load({**BASE, "HUB_CONTEXT_KEYS": "*"})
    metadata = {"camera": "cam7", "notes": "in\u202ecod.exe", "site\u200d": "north"}
    assert context_data(metadata, ("*",), 100)[1] == [
        ("notes", "its value holds U+202E RIGHT-TO-LEFT OVERRIDE, which would make it read as other text"),
        ("site\u200d", "its key holds U+200D ZERO WIDTH JOINER, which would make it read as other text")]
    # WHEN the flush makes its asset
    with caplog.at_level(logging.WARNING, logger="hub_import"):
        asset = asset_for(settings, ref(**metadata), DEST, flush_id="f1")
    # THEN the object goes in with the rest, and each key left out is logged with its reason
    assert asset.context_data == {"camera": "cam7"} and asset.external_id == "cams/a.jpg"
    logged = {r.fields["key"]: r.fields["reason"] for r in caplog.records if "left out of contextData" in r.getMessage()}
    assert set(logged) == {"notes", "site\u200d"} and "U+202E" in logged["notes"]
