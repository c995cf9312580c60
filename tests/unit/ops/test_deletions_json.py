"""`deletions --json` (held; --approve; --discard) and `sweep --deletions --json` hold to
docs/json/deletions.md and docs/json/sweep.md: counts integers, the oldest held deletion's time ISO
8601 UTC (it was epoch seconds), every key documented. The fakes of test_held_deletions_shown."""
from __future__ import annotations

import pytest

from hub_import.core import clock
from hub_import.core.objects import ObjectRef
from hub_import.ops import deletions
from hub_import.ops.deletion_sweep import sweep_deletions
from hub_import.state.ledger import Ledger
from tests.unit.flush.test_deletions_listing import VirtualClock
from tests.unit.flush.test_early_claims import Store
from tests.unit.flush.test_result_messages import Publisher
from tests.unit.ops.test_held_deletions_shown import SETTINGS, Landing, hold
from tests.unit.ops.test_json_schemas import holds

HELD = "`deletions --json`"
DECIDED = "`deletions --approve --json`, `deletions --discard --json`"


def test_deletions_json_holds_to_its_schema_with_the_oldest_in_iso_utc():
    with clock.use(VirtualClock()) as now:
        store = Store()
        started = clock.now()
        hold(store, [f"d/{i}.png" for i in range(8)], now)
        now.sleep(3600)
        told = deletions.held(SETTINGS, store).to_json()
        holds(told, "deletions.md", HELD)
        assert told["count"] == 8 and told["oldest_at"] == clock.iso(started) and told["oldest_at"].endswith("Z")
        assert told["oldest_age_seconds"] == 3600 + 8 * 60 and len(told["examples"]) == 5
        nothing = deletions.held(SETTINGS, Store()).to_json()
        holds(nothing, "deletions.md", HELD)
        assert nothing["oldest_at"] is None and nothing["oldest_age_seconds"] is None and nothing["examples"] == []


def test_approve_and_discard_json_hold_to_their_schema():
    with clock.use(VirtualClock()) as now:
        store = Store()
        hold(store, ["a.png", "b.png"], now)
        failed = deletions.approve(SETTINGS, store, Publisher(failing=True)).to_json()
        holds(failed, "deletions.md", DECIDED)
        assert (failed["action"], failed["done"], failed["failed"]) == ("approve", 0, 2) and failed["errors"]
        approved = deletions.approve(SETTINGS, store, Publisher()).to_json()
        holds(approved, "deletions.md", DECIDED)
        assert (approved["done"], approved["errors"]) == (2, [])
        holds(deletions.held(SETTINGS, store).to_json(), "deletions.md", HELD)  # approved, not yet carried out
        discarded = deletions.discard(SETTINGS, store).to_json()
        holds(discarded, "deletions.md", DECIDED)
        assert (discarded["action"], discarded["done"]) == ("discard", 2)


def test_sweep_json_holds_to_its_schema_dry_run_or_not():
    with clock.use(VirtualClock()) as now:
        store = Store()
        ledger = Ledger(store, "ledger/", False)
        for name in ("live.png", "gone.png", "held.png"):
            ledger.claim(ObjectRef("landing", name, 3), "m1.json", "f", name)
        ledger.mark_sent("m1.json", 3)
        hold(store, ["held.png"], now)
        dry = sweep_deletions(SETTINGS, store, Landing(["live.png"]), Publisher(), dry_run=True).to_json()
        holds(dry, "sweep.md", "sweep --deletions")
        assert dry["dry_run"] is True and (dry["gone"], dry["held"], dry["queued"]) == (2, 1, 0)
        done = sweep_deletions(SETTINGS, store, Landing(["live.png"]), Publisher()).to_json()
        holds(done, "sweep.md", "sweep --deletions")
        assert done["dry_run"] is False and done["queued"] == 1 and isinstance(done["seconds"], float)


def test_the_schema_test_fails_on_an_epoch_time_an_undocumented_field_or_the_other_tables_fields():
    with clock.use(VirtualClock()) as now:
        store = Store()
        hold(store, ["a.png"], now)
        told = deletions.held(SETTINGS, store).to_json()
    with pytest.raises(AssertionError, match="is not time or null"):
        holds({**told, "oldest_at": 1_764_000_000.0}, "deletions.md", HELD)  # as it was printed before
    with pytest.raises(AssertionError, match="not documented"):
        holds({**told, "action": "approve"}, "deletions.md", HELD)  # a field of the other table
    with pytest.raises(AssertionError, match="documented but missing"):
        holds({k: v for k, v in told.items() if k != "approved"}, "deletions.md", HELD)
    with pytest.raises(AssertionError, match="is not integer"):
        holds({"dry_run": False, "records": "3", "sent": 0, "gone": 0, "held": 0, "queued": 0, "failed": 0,
               "seconds": 0.1}, "sweep.md")
