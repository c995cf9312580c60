"""`status` counts the dead letters still owed: rejected files whose dead letter Pub/Sub did not
confirm, named by their failed manifests (issue 23: they are not silent while they wait for their
message to come back). (No network: an in-memory state bucket, a subscriber with nothing waiting.)"""
from __future__ import annotations

from types import SimpleNamespace

from hub_import.core.assets import Asset
from hub_import.core.objects import ObjectRef
from hub_import.core.routes import Destination
from hub_import.core.settings import load
from hub_import.flush.dead_letters import UNCONFIRMED
from hub_import.ops.status import status, status_table
from hub_import.state.manifests import FAILED, ManifestStore
from tests.unit.flush.test_result_messages import DictStore
from tests.unit.ops.test_storage_messages import ENV

SETTINGS = load({**ENV, "HUB_STORAGE_ID": "st"})


class Subscriber:
    def subscription_path(self, project, name):
        return f"projects/{project}/subscriptions/{name}"

    def pull(self, **kwargs):
        return SimpleNamespace(received_messages=[])


def test_status_counts_the_dead_letters_still_owed_and_says_so():
    store = DictStore()
    manifests = ManifestStore(store, SETTINGS.manifest_prefix)
    refs = [ObjectRef("landing", f"x/{n}.pdf", 1, size=10) for n in "ab"]
    assets = [Asset(external_id=r.name, data=f"https://storage.googleapis.com/landing/{r.name}") for r in refs]
    manifests.create(SETTINGS.manifest_prefix + "m1-failed.json", Destination("proj", "st"), assets, refs, "f1", 30,
                     state=FAILED, error="unknown storage", **{UNCONFIRMED: ["x/a.pdf"]})
    result = status(SETTINGS, store, Subscriber())
    assert result.dead_letters_owed == 1 and result.to_json()["dead_letters_owed"] == 1
    assert "dead letters owed: 1" in status_table(result)
    assert "dead letters owed" not in status_table(status(SETTINGS, DictStore(), Subscriber()))
