"""Red team 4 (issue 22): admission fills a route's `{date}` template from the message's own
timeCreated to check the batch name it carries. A forged message whose timeCreated is valid RFC
3339 but leaves datetime's range once moved to UTC (`9999-12-31T23:59:59-23:59`) raised
OverflowError out of the flush: every flush died on it, with the legitimate messages pulled
beside it, until Pub/Sub gave up on it. It is refused and dead-lettered like any other forgery.
(A whole flush over fakes, as test_forged_messages.py builds it; no network.)"""
from __future__ import annotations

import pytest

from hub_import.core.batch_templates import upload_date
from hub_import.core.routes import Destination
from tests.unit.flush.test_forged_messages import SETTINGS_ENV, dead_letter_reasons, obj, run_flush


@pytest.mark.parametrize("time_created", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"])
def test_a_time_created_out_of_range_in_utc_is_refused_not_fatal(time_created):
    # GIVEN the cams/ route's `cams-{date}`, and a message whose timeCreated overflows in UTC
    forged = obj("cams/a.jpg", dest=Destination("cams", "st-cams", ("cams-x",), templates=(("cams-x", "cams-{date}"),)),
                 time_created=time_created)
    # WHEN a flush pulls it beside a legitimate message
    hub, subscriber, publisher, _ = run_flush(SETTINGS_ENV, ("f1", forged), ("ok1", obj("a.jpg")))
    # THEN the legitimate one is imported, the forgery dead-lettered with the reason, both acked
    assert hub.imported == ["a.jpg"] and sorted(subscriber.acked) == ["f1", "ok1"]
    assert dead_letter_reasons(publisher) == ["refused: batch 'cams-x' is not one this deployment's routes can "
                                              "produce for gs://landing/cams/a.jpg"]
    assert upload_date(time_created) is None
