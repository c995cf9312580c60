"""The Hub stand-in's switches: their defaults, their checks, their dice, and the ways a fault
answers (a dropped or held connection, a cut body, a proxy's HTML page, a late commit).

What each switch means is in the table at the top of hub_standin.py.
"""
from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from typing import Callable

from flask import Response

FAULT_DEFAULTS = {
    # faults
    "error_rate": 0.0,
    "rate_429": 0.0,
    "retry_after_s": 1,
    "latency_ms": 0,
    "outage": False,
    "drop_after_commit": 0.0,
    "drop_hang_s": 0.0,
    "drop_after_delete": 0.0,
    "rate_limit_per_minute": 100,
    "rate_limit_window_s": 60.0,
    "max_assets_per_request": 1000,
    "slow_commit": 0.0,
    "slow_commit_as": "504",
    "slow_commit_delay_s": 4.0,
    "slow_commit_hang_s": 65.0,
    "max_body_bytes": 0,
    "short_created": 0.0,
    "short_created_as": "fewer",
    "odd_status": 0.0,
    "odd_status_code": 409,
    "truncate_body": 0.0,
    "redirect_to": "",
    "geofenced": False,
    # behaviours the public material leaves open (guesses)
    "list_order": "honoured",
    "list_created_at": True,
    "list_max_limit": 100,
    "external_id_filter": "exact",
    "storages_default_limit": 10,
    "storages_max_limit": 100,
    "storages_order": "newest_first",
    "retry_after": True,
    "delete_unknown_ids": "ignored",
    "list_lag_s": 0.0,
    "list_data": True,
}
CHOICES = {
    "slow_commit_as": ("504", "timeout", "reset"),
    "short_created_as": ("fewer", "status_fail"),
    "list_order": ("honoured", "oldest_first", "newest_first"),
    "external_id_filter": ("exact", "substring", "ignored"),
    "storages_order": ("newest_first", "oldest_first"),
    "delete_unknown_ids": ("ignored", "400"),
}
FRACTIONS = {"error_rate", "rate_429", "drop_after_commit", "slow_commit", "short_created", "odd_status",
             "truncate_body", "drop_after_delete"}
INTEGERS = {"rate_limit_per_minute", "max_assets_per_request", "max_body_bytes", "odd_status_code",
            "list_max_limit", "storages_default_limit", "storages_max_limit"}
MINIMUM = {"list_max_limit": 1, "storages_max_limit": 1, "max_assets_per_request": 1, "odd_status_code": 400}

# What nginx answers when a body passes client_max_body_size: HTML, not the Hub's JSON.
HTML_413 = ("<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
            "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")


def check_switches(changes: object) -> str | None:
    """Why `changes` is not a valid set of switch values, or None when it is."""
    if not isinstance(changes, dict):
        return "faults: a JSON object of switch names to values"
    unknown = sorted(set(changes) - set(FAULT_DEFAULTS))
    if unknown:
        return f"faults: unknown switch(es) {unknown}; known: {sorted(FAULT_DEFAULTS)}"
    for key, value in changes.items():
        default = FAULT_DEFAULTS[key]
        if key in CHOICES:
            if value not in CHOICES[key]:
                return f"{key}: one of {list(CHOICES[key])}"
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                return f"{key}: true or false"
        elif isinstance(default, str):
            if not isinstance(value, str) or (value and not value.startswith(("http://", "https://"))):
                return f"{key}: \"\" or an http(s):// base URL"
        elif isinstance(value, bool) or not isinstance(value, int if key in INTEGERS else (int, float)):
            return f"{key}: a{'n integer' if key in INTEGERS else ' number'}"
        elif value < MINIMUM.get(key, 0) or (key in FRACTIONS and value > 1) or (key == "odd_status_code"
                                                                                and value > 599):
            return f"{key}: {'a fraction from 0 to 1' if key in FRACTIONS else 'out of range'}"
    return None


class RealTime:
    """The stand-in's clock as deployed: the machine's monotonic clock and sleep, and slow commits
    stored later on a thread of their own. The deterministic simulation (tests/simulation) gives
    `create_app` a virtual one instead, with the same three methods."""

    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    @staticmethod
    def later(delay_s: float, run: Callable[[], object]) -> None:
        timer = threading.Timer(delay_s, run)
        timer.daemon = True  # a stand-in that stops loses what it had not stored: a Hub that died
        timer.start()


class DroppedConnection(RuntimeError):
    """Raised by `drop_connection` when the app runs in-process (no werkzeug socket to close): the
    caller's transport turns it into what the client would have seen, a reset (or a read timeout
    when `hang_s` outlasts the client)."""

    def __init__(self, hang_s: float):
        super().__init__(f"connection dropped after {hang_s} s")
        self.hang_s = hang_s


class Switches:
    """The live switch values, the dice the fractions roll, and the counters /_admin/stats shows.

    Takes the switches to change from their defaults (ValueError when they are not valid) and a
    seed for the dice. A fraction of 0 rolls no die, so switching a new fault on leaves the
    sequence every other fault draws from as it was."""

    def __init__(self, initial: dict | None = None, seed: int | None = None, clock=None):
        self.clock = clock or RealTime()
        problem = check_switches(initial or {})
        if problem:
            raise ValueError(problem)
        self.values = dict(FAULT_DEFAULTS, **(initial or {}))
        self.lock = threading.Lock()
        self.stats: Counter = Counter()
        self._rng = random.Random(seed)
        self._held: list[Callable[[], None]] = []  # slow commits scheduled, not yet stored

    def __getitem__(self, key: str):
        return self.values[key]

    def update(self, changes: object) -> str | None:
        """Apply `changes`, all or nothing; returns why not, or None when applied."""
        problem = check_switches(changes)
        if problem is None:
            with self.lock:
                self.values.update(changes)
        return problem

    def roll(self, key: str) -> bool:
        """True for the fraction `self[key]` of calls."""
        rate = self.values[key]
        with self.lock:
            return rate > 0 and self._rng.random() < rate

    def count(self, row: str, column: str = "-", n: int = 1) -> None:
        with self.lock:
            self.stats[(row, column)] += n

    def later(self, delay_s: float, store: Callable[[], object]) -> None:
        """Run `store` (a slow commit) after `delay_s` seconds (on a thread of its own, with the
        real clock), counted in the stats row "slow commit" as scheduled, then stored; held until
        then, unless `commit_held` stores it sooner (each is stored once, whichever comes first)."""
        self.count("slow commit", "scheduled")
        done = threading.Event()

        def run() -> None:
            with self.lock:
                if done.is_set():  # stored already (commit_held); its timer stores nothing
                    self.stats[("slow commit", "timer after commit-held")] += 1
                    return
                done.set()
                self._held.remove(run)
            store()
            self.count("slow commit", "stored")

        with self.lock:
            self._held.append(run)
        self.clock.later(delay_s, run)

    def commit_held(self) -> int:
        """Store every slow commit still held, now, in the order they were made (POST
        /_admin/commit-held): a test says when the lost import lands instead of sleeping its delay
        and hoping the machine kept pace. Returns how many it stored."""
        with self.lock:
            held = list(self._held)
        for run in held:
            run()
        return len(held)


def drop_connection(environ: dict, hang_s: float) -> None:
    """Close the client's connection without an answer, after holding it `hang_s` seconds."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise DroppedConnection(hang_s)
    if hang_s:
        time.sleep(hang_s)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def truncated(body: dict, status: int) -> Response:
    """An answer whose Content-Length promises all of `body` but which sends only its first half;
    the server closes every connection after an answer, so the client sees the body cut short."""
    data = json.dumps(body).encode()
    return Response(iter([data[: len(data) // 2]]), status=status, mimetype="application/json",
                    headers={"Content-Length": str(len(data))})


def too_large() -> Response:
    return Response(HTML_413, status=413, mimetype="text/html")
