"""The API key never leaves the Hub client (issue 23): when the Hub echoes it, in an answer a flush
records (a 2xx "fail" left pending, a 400 whose assets are dead-lettered), no 8 characters of it, raw,
JSON-escaped or URL-encoded, reach a stored byte of the state bucket, a log line, a dead letter, a
result or the summary. (No network: a real HubClient over a session that answers from a table.)

Issue 22: every answer shape the Hub stand-in can give (each fault switch's, and a key across each
cut), echoing a recognisable key (K3Y-...), through every sink a person or a subscriber reads: the
state bucket, the logs, Pub/Sub (dead letters, results), the summary, `status` and `trace` (text and
--json). Not even the key's first characters, which a cut made before the redaction used to leave."""
from __future__ import annotations

import json
import logging
import random
import re
import string
from datetime import datetime, timezone
from types import SimpleNamespace
from urllib.parse import quote, quote_plus

import pytest

from deploy.local.hub_standin_faults import HTML_413

from hub_import.core.logs import JsonFormatter
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.hub import HubClient
from hub_import.ops.status import status, status_table
from hub_import.ops.trace import trace
from hub_import.ops.trace_report import render
from tests.unit.flush.test_flush_in_memory import ENV as ROUTED, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher
from tests.unit.hub.test_hub_answers import answer
from tests.unit.hub.test_redteam_key_echo import ODD_KEY, leaked, straddling

# A route with no batches: its messages name none, and no batch call stands before the import.
ENV = {**ROUTED, "HUB_BATCHES": ""}
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


# -- every answer shape the Hub stand-in can produce, each echoing the key, through every sink ------------------
# (deploy/local/hub_standin_faults.py lists the switches; hub_standin.py's table says how each answers.)
_DICE = random.Random(22)
K3Y = "K3Y-" + "".join(_DICE.choice(string.ascii_letters + string.digits + '/+"\\&=') for _ in range(40))
LANDING_NAME = "cams/a.jpg"
CREATED = {"status": "success", "data": {"assets": {"assetsCreated": 1, "tasksCreated": 1}}}


def _reason_phrase(status: int, phrase: str):
    r = answer(status, raw=b"")
    r.headers["Content-Type"] = "text/plain"
    r.reason = phrase
    return r


def _html_413():
    r = answer(413, raw=HTML_413.replace("nginx", f"nginx apikey={K3Y}").encode())
    r.headers["Content-Type"] = "text/html"
    return r


def _error(status: int, message: str, kind: str = "fail", **headers):
    return lambda: answer(status, {"status": kind, "message": message}, headers=headers or None)


SHAPES = {  # switch (or check) -> the answer it gives, the key echoed in it; then the Hub answers as usual
    "error_rate-500": _error(500, f"Internal error; request headers apikey={K3Y}", "error"),
    "rate_429-retry-after": _error(429, f"Too many requests for key {K3Y}", **{"Retry-After": "0"}),
    "outage-503": _error(503, f"Service unavailable ({K3Y})", "error"),
    "bad-key-401": _error(401, f"Invalid API key: {K3Y}"),
    "forbidden-403-json-escaped": lambda: answer(403, raw=json.dumps(["denied", {"apikey": K3Y}]).encode()),
    "geofenced-451": _error(451, f"Unavailable For Legal Reasons: organization is geofenced; key {K3Y}"),
    "odd_status-409": _error(409, f"Conflict for apikey={quote(K3Y, safe='')}"),
    "odd_status-422-lower-hex": _error(422, "apikey=" + re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(),
                                                               quote(K3Y, safe=""))),
    "slow_commit-504": _error(504, f"Gateway Timeout (upstream apikey={quote_plus(K3Y)})", "error"),
    "short_created-status_fail-200": _error(200, f"Assets could not be created: {K3Y}"),
    "2xx-status-is-the-key": lambda: answer(200, {"status": K3Y, "message": "?"}),
    "validation-400": _error(400, f"assets[0].data: not a URL; apikey {K3Y}"),
    "max_body_bytes-413-html": _html_413,
    "redirect_to-307": lambda: answer(307, raw=b"", headers={
        "Location": f"https://{quote(K3Y, safe='')}@other.example/v2/project/proj/cloud?apikey={quote(K3Y, safe='')}"}),
    "reason-phrase-500": lambda: _reason_phrase(500, f"Bad key {K3Y}"),
    # a key across each cut, 3 or 4 characters before it: 500 characters (errors), 200 (a 2xx message), 20 (a 2xx
    # status)
    "400-key-across-the-500-cut": _error(400, "x" * 496 + K3Y),
    "500-key-across-the-500-cut": _error(500, "x" * 495 + K3Y, "error"),
    "2xx-key-across-the-200-cut": _error(200, "y" * 196 + K3Y),
    "2xx-status-across-the-20-cut": lambda: answer(200, {"status": "z" * 16 + K3Y, "message": "?"}),
}


class Standin:
    """A session: the first import (and the first asset listing) answered with `shape`, the rest as the
    Hub answers when all is well (storages empty, imports created, listings empty)."""

    def __init__(self, shape):
        self.shape, self.headers, self.imports, self.listings = shape, {}, 0, 0

    def request(self, method, url, **kwargs):
        if url.endswith("/cloud"):
            self.imports += 1
            return self.shape() if self.imports == 1 else answer(201, CREATED)
        if "/assets" in url:
            self.listings += 1
            return self.shape() if self.listings == 1 else answer(200, {"status": "success",
                                                                        "data": {"assets": [], "total": 0}})
        return answer(200, {"status": "success", "data": {"storages": []}})

    def close(self):
        pass


class Inspect:
    """The dead-letter topic's -inspect subscription, holding what the flush dead-lettered."""

    def __init__(self, letters):
        self.letters = letters

    def subscription_path(self, project, name):
        return f"projects/{project}/subscriptions/{name}"

    def pull(self, **kwargs):
        return SimpleNamespace(received_messages=[
            SimpleNamespace(ack_id=f"d{i}", message=SimpleNamespace(data=data, attributes=attributes, message_id=str(i),
                                                      publish_time=datetime(2026, 12, 2, tzinfo=timezone.utc)))
            for i, (data, attributes) in enumerate(self.letters)])

    def modify_ack_deadline(self, **kwargs):
        pass


class Landing:
    """The landing bucket, holding the one file."""

    def bucket(self, name):
        blob = SimpleNamespace(bucket=SimpleNamespace(name=name), name=LANDING_NAME, generation=1, size=10,
                               content_type="image/jpeg", time_created=None, updated=None, metadata={}, md5_hash=None,
                               crc32c=None, etag=None, metageneration=1)
        return SimpleNamespace(get_blob=lambda _name: blob)


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_no_answer_shape_of_the_hub_carries_an_echoed_key_to_any_sink(shape):
    # GIVEN a Hub (stand-in shapes) whose first answer to an import, and to a listing, echoes the key
    settings = load({**ENV, "HUB_API_KEY": K3Y, "RESULTS_TOPIC": "results"})
    hub = HubClient("https://hub.example", K3Y, requests_per_minute=0, backoff_base=0.001, backoff_cap=0.01)
    session = hub.transport._session = Standin(SHAPES[shape])
    store, publisher, lines = ListingStore(), Publisher(), Lines()
    ref = ObjectRef("landing", LANDING_NAME, 1, size=10)
    subscriber = Subscriber([("m1", ObjectMessage(ref, DEST, (10, 10)).encode())])
    logger = logging.getLogger("hub_import")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    try:
        # WHEN a flush imports the file, and a person asks `status` and `trace` about it (text and --json)
        summary = Flush(settings, hub, store, subscriber, publisher).run()
        letters = [(data, attributes) for topic, data, attributes in publisher.sent
                   if topic == settings.dead_letter_topic_path]
        told = status(settings, store, Inspect(letters))
        traced = trace(settings, ref.uri, storage=Landing(), store=store, subscriber=Inspect(letters), hub=hub)
    finally:
        logger.removeHandler(lines)
    # THEN the Hub's answer was read (the import, and trace's listing, met it) ...
    assert session.imports >= 1 and session.listings >= 1
    # ... and no 8 characters of the key, in any form, reached the state bucket, a log line, Pub/Sub
    # (dead letters, results), the summary, status or trace (text or JSON)
    sinks = {
        "state bucket": json.dumps({p: d.body for p, d in store.docs.items()}, ensure_ascii=False),
        "logs": "\n".join(lines.lines),
        "Pub/Sub": " ".join(f"{data.decode('utf-8', 'replace')} {json.dumps(a, ensure_ascii=False)}"
                            for _, data, a in publisher.sent),
        "summary": json.dumps(summary.to_json(), ensure_ascii=False),
        "status": status_table(told), "status --json": json.dumps(told.to_json(), ensure_ascii=False),
        "trace": render(traced), "trace --json": json.dumps(traced.to_json(), default=str, ensure_ascii=False),
    }
    for where, text in sinks.items():
        # (a key cut before it was redacted leaves its first characters: K3Y- marks them)
        assert not leaked(text, K3Y) and "K3Y" not in text, f"{where}: {leaked(text, K3Y)} in {text[:3000]}"
    # ... and what the Hub said was shown where it is shown: redacted, or cut before the key began
    evidence = EVIDENCE.get(shape, "[redacted]")
    assert evidence is None or any(evidence in text for text in sinks.values()), sinks


# What shows that an answer's text reached the sinks (default: the mask). A 413 is told by its
# status alone ("the request is too large", and the file narrowed and sent again); an answer cut at
# the key shows the text before it, then "…".
EVIDENCE = {"max_body_bytes-413-html": None,
            "400-key-across-the-500-cut": "x" * 496, "500-key-across-the-500-cut": "x" * 495,
            "2xx-key-across-the-200-cut": "y" * 196, "2xx-status-across-the-20-cut": "z" * 16}
