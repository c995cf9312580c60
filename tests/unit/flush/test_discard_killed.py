"""A manifest whose every asset moved on (a 400 split them into a failed manifest and a new one) is
discarded: its assets, its state and its pending marker deleted. A flush killed part way through
must not leave its state saying pending without the rest: no flush resumes it (the resumer finds
no marker, or a marker whose manifest cannot be loaded), and `status` then shows a pending
manifest for good that holds nothing. Found by the simulation's `rest` and `status` checks
(seed 101536, a flush killed at its 31st call). The state goes first: what a kill leaves then is
at most a marker (dropped by a later resume) and an assets file no state names."""
from __future__ import annotations

import pytest

from hub_import.core.assets import build_asset
from hub_import.core.objects import ObjectRef
from hub_import.state.manifests import ManifestStore
from tests.unit.flush.test_early_claims import DEST
from tests.unit.flush.test_result_messages import DictStore

REF = ObjectRef("landing", "x/d.pdf", 1764000000000001, size=10)


class Killed(BaseException):
    pass


class DyingStore(DictStore):
    """Deletes until the `kill_at`-th, where the process dies."""

    def __init__(self, kill_at: int):
        super().__init__()
        self.kill_at, self.deletes = kill_at, 0

    def delete(self, path, if_generation_match=None):
        self.deletes += 1
        if self.deletes == self.kill_at:
            raise Killed(path)
        return super().delete(path, if_generation_match)


@pytest.mark.parametrize("kill_at", [1, 2, 3])
def test_a_discard_cut_short_leaves_no_pending_state(kill_at):
    store = DyingStore(kill_at)
    manifests = ManifestStore(store, "manifests/")
    manifest = manifests.create("manifests/2026/01/02/030405Z-f1-001.json", DEST, [build_asset(REF, storage="st")],
                                [REF], "f1", 300.0)
    with pytest.raises(Killed):
        manifests.discard(manifest)
    left = manifests.state_of(manifest.path)
    assert left is None or manifests.load(manifest.path) is not None, "a pending state whose manifest is gone"
