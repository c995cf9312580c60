"""GET /v2/storages is read page by page until nothing new comes, so an integration past the first
page is found, whatever page size the Hub really gives (no network: scripted answers)."""
from __future__ import annotations


from tests.unit.hub.test_hub_answers import answer, client


def page(ids):
    return answer(200, {"status": "success", "data": {"storages": [{"_id": i, "bucket": "b"} for i in ids]}})


def pages_asked(session) -> list[int]:
    return [int(kwargs["params"]["page"]) for _, _, kwargs in session.requests]


def test_every_page_is_read_until_a_short_one():
    hub, session = client(page([f"s{i}" for i in range(100)]), page([f"s{i}" for i in range(100, 130)]))
    assert len(hub.storages()) == 130
    assert pages_asked(session) == [1, 2]
    assert all(kwargs["params"]["limit"] == 100 for _, _, kwargs in session.requests)


def test_a_hub_that_caps_the_page_below_the_limit_asked_still_gives_up_every_integration():
    # GIVEN a Hub that answers 10 a page whatever `limit` says, with 25 integrations
    ids = [f"s{i}" for i in range(25)]
    hub, session = client(page(ids[:10]), page(ids[10:20]), page(ids[20:]))
    # THEN all 25 are read, and the short third page ends it
    assert [s["_id"] for s in hub.storages()] == ids and pages_asked(session) == [1, 2, 3]


def test_a_full_last_page_ends_on_the_empty_one_after_it_and_a_repeated_page_ends_too():
    hub, session = client(page(["a", "b"]), page([]))
    assert len(hub.storages()) == 2 and pages_asked(session) == [1, 2]
    hub, session = client(page(["a", "b"]), page(["a", "b"]))  # a Hub that ignores `page`
    assert len(hub.storages()) == 2 and pages_asked(session) == [1, 2]
