"""An uploader's metadata cannot spend the Hub's budget: a batch template (`{meta.camera}`) costs one
project read per flush, however many distinct names its files carry; the creation setting and the
cap are asked before any creation, so names that cannot be created cost no call; and the flush's
summary says what batches cost (`batch_calls`). Files whose batch cannot be created still go into a
failed manifest and onto the dead-letter topic with the reason.

A whole flush over in-memory state and Pub/Sub fakes, and the real HubClient talking to the Hub
stand-in (deploy/local/hub_standin.py) in this process, so every Hub call is a real one, counted."""
from __future__ import annotations

from urllib.parse import urlparse

import requests

from deploy.local.hub_standin import create_app
from deploy.local.hub_standin_store import HubState
from hub_import.core.decisions import decide
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import load
from hub_import.flush.run import Flush
from hub_import.hub import HubClient
from tests.unit.flush.test_flush_in_memory import ENV, ListingStore, Subscriber
from tests.unit.flush.test_result_messages import Publisher

KEY = "test-key-batch-calls"


class InProcess:
    """A requests session answered by the stand-in's WSGI app, in this process."""

    def __init__(self, app, headers):
        self.client, self.headers = app.test_client(), dict(headers)

    def request(self, method, url, params=None, data=None, timeout=None, allow_redirects=False):
        answer = self.client.open(urlparse(url).path, method=method, query_string=params, headers=self.headers,
                                  data=data)
        response = requests.Response()
        response.status_code, response._content = answer.status_code, answer.get_data()
        response.headers.update(dict(answer.headers))
        return response

    def close(self):
        pass


def hub_over_standin(data_dir) -> tuple[HubState, HubClient]:
    """A Hub stand-in with project `proj` and storage `st` (no rate limit), and a client talking to it."""
    state = HubState(data_dir)
    state.ensure_project("proj")
    state.ensure_storage("st", "landing")
    hub = HubClient("https://hub.test", KEY, requests_per_minute=0)
    hub.transport._session = InProcess(create_app(state, KEY, faults={"rate_limit_per_minute": 0}),
                                       hub.transport._session.headers)
    return state, hub


def settings(**env):
    return load({**ENV, "HUB_API_KEY": KEY, "HUB_BATCHES": "cam-{meta.camera}", "MAX_ASSETS_PER_MANIFEST": "1000",
                 **env})


def uploads(s, cameras: list[str]):
    """One message per file, as ingest queues it (its batch names filled in from its metadata)."""
    refs = [ObjectRef("landing", f"up/{i}.jpg", 1, size=10, metadata={"camera": camera})
            for i, camera in enumerate(cameras)]
    return [(f"ack-{i}", ObjectMessage(ref, decide(ref, s).destination, (10, 10)).encode())
            for i, ref in enumerate(refs)]


def flush(hub, s, cameras, publisher=None):
    subscriber = Subscriber(uploads(s, cameras))
    publisher = publisher or Publisher()
    return Flush(s, hub, ListingStore(), subscriber, publisher).run(), subscriber, publisher


def test_a_thousand_distinct_camera_values_cost_no_more_calls_than_one_when_batches_cannot_be_created(tmp_path):
    # GIVEN HUB_CREATE_BATCHES off and no batch of the template in the project
    s = settings(HUB_CREATE_BATCHES="false")
    costs = {}
    for distinct in (1, 1000):
        _, hub = hub_over_standin(tmp_path / str(distinct))
        # WHEN 1,000 files come with `distinct` camera values
        summary, subscriber, publisher = flush(hub, s, [f"c{i % distinct}" for i in range(1000)])
        costs[distinct] = summary.hub_calls
        # THEN every file is failed and dead-lettered with the reason, none lost
        assert summary.failed == 1000 and len(subscriber.acked) == 1000
        assert summary.dead_lettered == 1000
    # AND a thousand names cost no more than one: a project read, nothing per name
    assert costs[1000] <= costs[1] + 2, costs
    assert summary.batch_calls == 1


def test_forty_camera_values_past_the_cap_cost_a_bounded_number_of_calls(tmp_path):
    # GIVEN batches may be created, at most 3 per template
    state, hub = hub_over_standin(tmp_path)
    s = settings(MAX_TEMPLATE_BATCHES="3")
    # WHEN 40 files come with 40 distinct camera values
    summary, subscriber, publisher = flush(hub, s, [f"c{i}" for i in range(40)])
    # THEN 3 batches are made and their files imported; the other 37 fail with the cap as reason
    assert len(state.projects["proj"]["batches"]) == 3
    assert summary.sent == 3 and summary.failed == 37 and summary.dead_lettered == 37
    assert len(subscriber.acked) == 40
    # AND batches cost one read, then one creation and one read per batch made: nothing for the 37
    assert summary.hub_calls <= 1 + 2 * 3 + 3 + 1, summary.hub_calls  # (and the three imports, a ping)
    assert summary.batch_calls <= 1 + 2 * 3, summary.batch_calls


def test_a_thousand_distinct_values_cost_a_handful_of_calls_more_than_one_value(tmp_path):
    # GIVEN batches may be created, at most 2 per template
    s = settings(MAX_TEMPLATE_BATCHES="2")
    costs = {}
    for distinct in (1, 1000):
        _, hub = hub_over_standin(tmp_path / str(distinct))
        # WHEN 1,000 files come with `distinct` camera values
        summary, subscriber, _ = flush(hub, s, [f"c{i % distinct}" for i in range(1000)])
        costs[distinct] = summary.hub_calls
        assert len(subscriber.acked) == 1000 and summary.sent + summary.dead_lettered == 1000
    # THEN the thousand names cost only the second batch allowed and its import more
    assert costs[1000] <= costs[1] + 5, costs


def test_new_batches_within_the_cap_cost_one_creation_each_and_one_read_for_all(tmp_path):
    # GIVEN batches may be created, up to the default cap
    state, hub = hub_over_standin(tmp_path)
    # WHEN 40 files come with 40 distinct camera values
    summary, subscriber, _ = flush(hub, settings(), [f"c{i}" for i in range(40)])
    # THEN all are imported, each into its own new batch
    assert summary.sent == 40 and len(subscriber.acked) == 40 and len(state.projects["proj"]["batches"]) == 40
    # AND the batches cost a read, the 40 creations and one read after them all (not a read each)
    assert summary.batch_calls == 1 + 40 + 1, summary.batch_calls


def test_groups_shipped_as_they_fill_have_their_new_batches_made_together_too(tmp_path):
    # GIVEN manifests of one file each, so that every group is full, and shipped, while pulling
    state, hub = hub_over_standin(tmp_path)
    # WHEN 40 files come with 40 distinct camera values
    summary, subscriber, _ = flush(hub, settings(MAX_ASSETS_PER_MANIFEST="1"), [f"c{i}" for i in range(40)])
    # THEN all are imported, and the batches cost a read, the creations and one read after them
    assert summary.sent == 40 and len(state.projects["proj"]["batches"]) == 40
    assert summary.batch_calls == 1 + 40 + 1, summary.batch_calls
