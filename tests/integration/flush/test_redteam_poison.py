"""Red team: a message that decodes as version 1 but holds the wrong JSON types crashes every flush
that pulls it, instead of going to the dead-letter topic ("a flush never dies of one bad thing").

Anyone who may publish to the topic (a backfill script, a person testing with `gcloud pubsub topics
publish`, an older or newer ingest) can send such a message. `ObjectMessage.decode` catches
ValueError/KeyError/TypeError/IndexError only and does not check field types, so:
- `"object": []`                       -> AttributeError in decode ('list' has no 'items')
- `"object": {... "name": 5 ...}`      -> AttributeError in routes.decide (int has no 'endswith')
- `"destination": {"batches": [[1]]}`  -> TypeError: unhashable list, in Flush._drain's groups[dest]
Each escapes Flush.run, the process dies (the HTTP function answers 500), nothing pulled with it is
acked, and the next flush pulls it again: up to MAX_DELIVERY_ATTEMPTS (100) crashed flushes, one a
minute, before Pub/Sub itself dead-letters it.
"""
from __future__ import annotations

import json
import uuid

import pytest

from hub_import.core.clients import publisher_client
from tests.integration.conftest import pull_until
from tests.integration.flushing import assert_once, publish, refs, run_flush, settings

POISON = {
    "object-is-a-list": {"v": 1, "object": [], "destination": {"project": "demo-project"}},
    "name-is-a-number": {"v": 1, "object": {"bucket": "landing", "name": 5, "generation": 1, "size": 10},
                         "destination": {"project": "demo-project"}},
    "batch-is-a-list": {"v": 1, "object": {"bucket": "landing", "name": "poison/x.jpg", "generation": 1,
                                           "size": 10, "content_type": "image/jpeg"},
                        "destination": {"project": "demo-project", "batches": [["incoming"]]}},
}


@pytest.mark.parametrize("kind", list(POISON), ids=list(POISON))
def test_a_poison_message_of_the_wrong_types_is_dead_lettered_and_the_flush_goes_on(stack, kind):
    # GIVEN good files queued, and one message that decodes as version 1 but holds the wrong types
    marker = uuid.uuid4().hex
    good = publish(stack, refs(f"poison-{kind}-{marker[:6]}/", 5))
    s = settings(stack)
    publisher_client().publish(s.topic_path, json.dumps(POISON[kind]).encode(), marker=marker).result(timeout=30)
    outcome = None
    try:
        # WHEN the scheduler flushes
        try:
            outcome = run_flush(stack)
        except AssertionError as exc:  # the flush process died
            outcome = f"the flush crashed: {str(exc).strip().splitlines()[-1][:300]}"
        # THEN the flush does not die of it, and the good files are in the Hub once
        assert isinstance(outcome, dict), outcome
        assert_once(stack, good)
    finally:
        # Leave no poison behind for the tests after this one (it would crash their flushes too).
        # (pull_until acks every message it pulls, the poison and the good ones alike.)
        if not isinstance(outcome, dict):
            pull_until(stack, lambda m: m.attributes.get("marker") == marker, 1, timeout=40)
