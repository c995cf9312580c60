"""Red team: a listing order learned once is assumed for the life of the process.

reconcile.Reconcile._order returns `Behaviour.order` as soon as it is known, and the flush
function's HubClient (with its Behaviour) lives as long as the Cloud Run instance. If the Hub's
listing changes (a Hub release that stops honouring `sort`, the `list_order` switch here), the
scan reads the oldest rows as if they were the newest, finds the first one older than the cut,
and concludes every asset absent at once; heal's scan does the same, so the copies stay. The issue
asked for the opposite: "a listing's order is checked from the rows it returns, never assumed".
"""
from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.integration.flushing import (LISTING, answered, commit_held, flush_http, flush_until_healed, flush_until_idle,
                                        held, publish, refs)
from tests.integration.redteam import HELD, add_others, stack, the_hub  # noqa: F401, F811 - fixtures


def lost_then_settled(stack, h, prefix: str):
    """20 files whose import answers 504 and lands right after (held, then committed by the test),
    settled by the flush function, whose reconcile reads the listing (counted at the stand-in)."""
    messages = publish(stack, refs(prefix, 20))
    h.faults(slow_commit=1.0, slow_commit_delay_s=HELD)
    first = flush_http(stack)
    h.faults(slow_commit=0.0)
    # At least these 20 (the queue is shared: another test's leftovers may ride along)
    assert first["uncertain"] >= 20, first
    commit_held(h)
    # The flush function's own state (the stack's prefixes, not this test's: it runs with the
    # stack's settings), so that "idle" means no pending manifest of its own is left.
    function = {k: v for k, v in stack.items() if k not in ("MANIFEST_PREFIX", "LEDGER_PREFIX")}
    # Flush until it has reconciled (read the listing, counted at the stand-in: once the settle
    # time has passed), polled under a deadline; then until idle
    listed, deadline = answered(h.stats(), LISTING), time.monotonic() + 60
    while answered(h.stats(), LISTING) == listed:
        assert time.monotonic() < deadline, "the flush function never read the listing to settle it"
        flush_http(stack)
        time.sleep(0.5)
    flush_until_idle(function, flush=lambda: flush_http(stack), expect=messages)
    return messages


@pytest.mark.parametrize("flip", [pytest.param(False, marks=pytest.mark.soak), True], ids=["control-order-unchanged", "hub-stops-honouring-sort"])
def test_a_listing_order_that_changes_under_a_running_flush_function_is_noticed(stack, the_hub, flip):
    # GIVEN a project of more than one listing page, and a flush function that has settled a lost
    # import against a Hub that lists newest first (so its client has learned that order)
    add_others(stack, the_hub, f"others-{uuid.uuid4().hex[:6]}/", 150, batch=50)
    time.sleep(4)
    lost_then_settled(stack, the_hub, f"rt-learn-a-{uuid.uuid4().hex[:6]}/")
    # WHEN the Hub starts listing oldest first (or, in the control, goes on as before)
    if flip:
        the_hub.faults(list_order="oldest_first")
    # AND another import's answer is lost, and the same flush function settles it, then heals
    prefix = f"rt-learn-b-{uuid.uuid4().hex[:6]}/"
    messages = lost_then_settled(stack, the_hub, prefix)
    function = {k: v for k, v in stack.items() if k not in ("MANIFEST_PREFIX", "LEDGER_PREFIX")}
    flush_until_healed(function, flush=lambda: flush_http(stack))  # every heal check come due and carried out
    # THEN each file is in the Hub once
    counts = held(stack, prefix)
    assert max(counts.values()) == 1 and len(counts) == len(messages), json.dumps(
        {"doubled": sum(n - 1 for n in counts.values())})
