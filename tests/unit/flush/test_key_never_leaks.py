"""The API key never leaves the Hub client (issue 23): when the Hub echoes it, in an answer a flush
records (a 2xx "fail" left pending, a 400 whose assets are dead-lettered), no 8 characters of it, raw,
JSON-escaped or URL-encoded, reach a stored byte of the state bucket, a log line, a dead letter, a
result or the summary. (No network: a real HubClient over a session that answers from a table.)"""
from __future__ import annotations

import json
import logging

import pytest

from hub_import.core.logs import JsonFormatter
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.hub import HubClient
from tests.unit.flush.test_flush_in_memory import ENV, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher
from tests.unit.hub.test_hub_answers import answer
from tests.unit.hub.test_redteam_key_echo import ODD_KEY, leaked, straddling

DEST = Destination(project="proj", storage="st")


class Hub:
    """A session: storages listing answered empty, every import answered with `reply`."""

    def __init__(self, reply):
        self.reply, self.headers, self.imports = reply, {}, 0

    def request(self, method, url, **kwargs):
        if url.endswith("/cloud"):
            self.imports += 1
            return self.reply()
        return answer(200, {"status": "success", "data": {"storages": []}})

    def close(self):
        pass


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


REPLIES = {
    "2xx-fail-left-pending": lambda: answer(200, {"status": "fail", "message": f"Invalid API key: {ODD_KEY}"}),
    "400-dead-lettered": lambda: answer(400, {"status": "fail", "message": straddling(ODD_KEY)}),
    "400-url-encoded": lambda: answer(400, {"status": "fail", "message": "apikey=" + ODD_KEY.replace("/", "%2F")}),
}


@pytest.mark.parametrize("case", REPLIES, ids=list(REPLIES))
def test_a_key_the_hub_echoes_reaches_no_stored_byte_log_line_dead_letter_or_result(case):
    # GIVEN a Hub that echoes the key in its answer to the import of one object
    hub = HubClient("https://hub.example", ODD_KEY, requests_per_minute=0, backoff_base=0.001, backoff_cap=0.01)
    session = hub.transport._session = Hub(REPLIES[case])
    store, publisher, lines = ListingStore(), Publisher(), Lines()
    subscriber = Subscriber([("m1", ObjectMessage(ObjectRef("landing", "a.jpg", 1, size=10), DEST, (10, 10)).encode())])
    logger = logging.getLogger("hub_import")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    try:
        # WHEN a flush imports it (results on)
        summary = Flush(load({**ENV, "HUB_API_KEY": ODD_KEY, "RESULTS_TOPIC": "results"}), hub, store, subscriber,
                        publisher).run()
    finally:
        logger.removeHandler(lines)
    # THEN the Hub's answer was recorded (a pending or a failed manifest with the Hub's reason) ...
    assert session.imports == 1
    stored = json.dumps({p: d.body for p, d in store.docs.items()})
    assert "[redacted]" in stored
    # ... and no piece of the key is in the state bucket, a log line, a dead letter, a result or the summary
    published = " ".join(f"{data!r} {json.dumps(attributes)}" for _, data, attributes in publisher.sent)
    assert publisher.sent if case != "2xx-fail-left-pending" else True
    for where, text in (("state bucket", stored), ("logs", "\n".join(lines.lines)), ("Pub/Sub", published),
                        ("summary", json.dumps(summary.to_json()))):
        assert not leaked(text), f"{where}: {text[:2000]}"
