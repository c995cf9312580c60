"""Red team 4 (issue 22), left open: admission checks that each batch a message names is one its
route makes for the object, not that the message names all of them, once each. A publisher can
requeue a landing object with its route's batches left out (`[]`: an asset in no batch, unseen by
a team that works batch by batch) or repeated. Refusing these would also refuse a message queued
before a batch was added to its route (as a template change already is): the lead's call, so
these stay expected failures."""
from __future__ import annotations

from dataclasses import replace

import pytest

from hub_import.core.admission import refusal
from hub_import.core.settings import load
from tests.unit.flush.test_forged_messages import DEST, SETTINGS_ENV, obj


@pytest.mark.xfail(strict=True, reason="admission accepts a subset of the route's batches")
def test_a_message_leaving_out_its_routes_batches_is_refused():
    assert refusal(obj("a.jpg", dest=replace(DEST, batches=())), load(SETTINGS_ENV)) is not None


@pytest.mark.xfail(strict=True, reason="admission accepts a batch named twice")
def test_a_message_naming_a_batch_twice_is_refused():
    assert refusal(obj("a.jpg", dest=replace(DEST, batches=("incoming", "incoming"))), load(SETTINGS_ENV)) is not None
