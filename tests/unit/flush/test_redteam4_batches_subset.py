"""Red team 4 (issue 22): admission checks that each batch a message names is one its route makes
for the object, once, and none of them left out (`[]` would put an asset in no batch, unseen by a
team that works batch by batch). A batch named twice is refused."""
from __future__ import annotations

from dataclasses import replace


from hub_import.core.admission import refusal
from hub_import.core.settings import load
from tests.unit.flush.test_forged_messages import DEST, SETTINGS_ENV, obj


def test_a_message_leaving_out_its_routes_batches_is_refused():
    assert refusal(obj("a.jpg", dest=replace(DEST, batches=())), load(SETTINGS_ENV)) is not None


def test_a_message_naming_a_batch_twice_is_refused():
    assert refusal(obj("a.jpg", dest=replace(DEST, batches=("incoming", "incoming"))), load(SETTINGS_ENV)) is not None
