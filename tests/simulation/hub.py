"""The Hub: the real stand-in (deploy/local/hub_standin.py) in-process, on the virtual clock, and
the real HubClient mounted onto it through a requests transport adapter, so that both the
product's client code and the stand-in's logic run.

What the adapter adds, as the network between them would: a Crash of the calling process before
a request goes out or after the Hub acted on it (both are counted calls of the plan); the
stand-in's dropped connections as requests' ConnectionError (a reset) or ReadTimeout (held past
the client's timeout); a body cut short as ChunkedEncodingError; a `Date` header from the virtual
clock. And one behaviour the stand-in has no switch for, kept here: the fault `hub.echo_key` (an
error answer that echoes the API key in its message, at a place chosen to straddle the product's
500-character cut). The listing's lag and rows without data are the stand-in's own switches
(`list_lag_s`, `list_data`), set once per history as guesses are: one model of the Hub."""
from __future__ import annotations

import itertools
import threading
import json
from datetime import datetime
from email.utils import formatdate
from pathlib import Path

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from deploy.local.hub_standin import create_app
from deploy.local.hub_standin_faults import FAULT_DEFAULTS, DroppedConnection
from deploy.local.hub_standin_store import HubState
from hub_import.hub import HubClient

from .clock import Io, VirtualClock

BASE_URL = "https://hub.sim"
FAULT_SWITCHES = ("error_rate", "rate_429", "drop_after_commit", "drop_after_delete", "slow_commit",
                  "short_created", "odd_status", "truncate_body", "max_body_bytes", "latency_ms")


class SimHubState(HubState):
    """HubState kept in memory only, stamped on the virtual clock, with deterministic ids."""

    def __init__(self, clock: VirtualClock):
        self.clock = clock
        counter = itertools.count(1)
        super().__init__(Path("/nonexistent-sim-hub"), now=self._now, new_id=lambda: f"{next(counter):024x}")

    def _now(self) -> str:
        return datetime.utcfromtimestamp(self.clock.time()).isoformat(timespec="milliseconds") + "Z"

    # no disk: the simulation's Hub lives as long as its history
    def _load(self) -> None:
        pass

    def _append(self, lines) -> None:
        pass

    def _save_meta(self) -> None:
        pass


class StandinAdapter(BaseAdapter):
    """requests -> the stand-in's WSGI app, in-process (see the module docstring)."""

    def __init__(self, app, io: Io, state: SimHubState, api_key: str):
        super().__init__()
        self.app, self.io, self.state, self.key = app, io, state, api_key
        self._local = threading.local()  # a test client per thread: two actors may be mid-request at once
        self.deleted_as: dict[str, str] = {}
        self.deleted_again: list[str] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.io.call("hub")  # a crash here: the request never left
        url = requests.utils.urlparse(request.url)
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        if request.method == "DELETE":
            self._judge_delete(url.path.split("/")[3], request.body)
        try:
            client = getattr(self._local, "client", None) or self.app.test_client()
            self._local.client = client
            answer = client.open(url.path, method=request.method, query_string=url.query,
                                      headers=dict(request.headers), data=request.body)
        except DroppedConnection as drop:
            if read_timeout is not None and drop.hang_s >= read_timeout:
                self.io.clock.sleep(read_timeout)
                self.io.call("hub.after")
                raise requests.exceptions.ReadTimeout("simulated: read timed out", request=request) from None
            self.io.clock.sleep(drop.hang_s)
            self.io.call("hub.after")
            raise requests.exceptions.ConnectionError("simulated: connection reset by peer", request=request) from None
        echo = self.io.call("hub.echo_key")  # a crash here: the Hub acted, nobody heard its answer
        body = answer.get_data()
        promised = answer.headers.get("Content-Length")
        if promised is not None and int(promised) > len(body):
            raise requests.exceptions.ChunkedEncodingError("simulated: body cut short", request=request)
        if echo:
            body = self._echo_key(answer.status_code, body)
        response = requests.Response()
        response.status_code, response._content, response.url, response.request = answer.status_code, body, \
            request.url, request
        response.headers = CaseInsensitiveDict({k: v for k, v in answer.headers.items() if k != "Content-Length"})
        response.headers["Date"] = formatdate(self.io.clock.time(), usegmt=True)
        response.reason = answer.status.partition(" ")[2]
        response.encoding = "utf-8"
        return response

    def _judge_delete(self, project: str, body) -> None:
        """Why each live asset a soft-delete names goes: an extra copy (another live asset with its
        externalId and data stays) or a deletion (told on the results topic)."""
        try:
            ids = set(json.loads(body).get("assets") or [])
        except (ValueError, AttributeError, TypeError):
            return
        import inspect

        healing = any(f.filename.endswith(("flush/heal.py", "ops/audit.py")) for f in inspect.stack(0))
        live = self.state.live(project)
        if not healing:  # a deletion's DELETE naming an asset a deletion removed already: carried out twice
            alive = {row["_id"] for row in live}
            self.deleted_again += [i for i in ids if self.deleted_as.get(i) == "deletion" and i not in alive]
        for row in live:
            if row["_id"] in ids and row["_id"] not in self.deleted_as:
                twin = any(o["_id"] not in ids and o["externalId"] == row["externalId"] and o["data"] == row["data"]
                           for o in live)
                self.deleted_as[row["_id"]] = "heal" if healing else "extra copy" if twin else "deletion"

    def _echo_key(self, status: int, body: bytes) -> bytes:
        """An error answer (or a 2xx saying fail) that quotes the key: its message padded so that
        the key sits across the 500th character, at its end, or alone."""
        try:
            answer = json.loads(body)
        except ValueError:
            return body
        if not isinstance(answer, dict) or answer.get("status") not in ("fail", "error"):
            return body
        pad = self.io.choice((0, 470, 480, 490, 495))
        answer["message"] = f"{answer.get('message', '')} for apikey ".ljust(pad, ".") + self.key
        return json.dumps(answer).encode()

    def close(self) -> None:
        pass


class SimHub:
    """The stand-in app over a SimHubState, set up as the settings need it."""

    def __init__(self, clock: VirtualClock, io: Io, api_key: str, seed: int, guesses: dict):
        self.clock, self.io, self.api_key = clock, io, api_key
        self.state = SimHubState(clock)
        self.app = create_app(self.state, api_key, dict(guesses), seed, clock=clock)
        self.app.config.update(TESTING=True, PROPAGATE_EXCEPTIONS=True)
        self.adapter = StandinAdapter(self.app, io, self.state, api_key)

    def set_faults(self, faults: dict) -> None:
        reply = self.app.test_client().post("/_admin/faults", json=faults)
        assert reply.status_code == 200, reply.get_data(as_text=True)

    def faults_off(self) -> None:
        self.set_faults({k: FAULT_DEFAULTS[k] for k in FAULT_SWITCHES})

    def client(self, settings, seed: int) -> HubClient:
        """A new process's HubClient (its own pacer and what it learns), mounted on the stand-in."""
        import random

        hub = HubClient(BASE_URL, settings.hub_api_key, requests_per_minute=settings.requests_per_minute,
                        read_timeout=settings.hub_timeout_s, rng=random.Random(seed))
        hub.transport._session.mount(BASE_URL, self.adapter)
        return hub

    # -- the judge's view, past every switch ---------------------------------------------
    @property
    def deleted_as(self) -> dict[str, str]:
        return self.adapter.deleted_as

    def live(self, project: str) -> list[dict]:
        return self.state.live(project)

    def all_assets(self) -> dict[str, list[dict]]:
        return {p: list(rows) for p, rows in self.state.assets.items()}
