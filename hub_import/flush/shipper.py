"""The shipper: the objects a flush holds, grouped by destination, each group shipped as one
manifest: its claims done (claims.py), the manifest written, then sent by the settler.

Each object admitted is claimed at once for the manifest its group will become. A group is
shipped once it is full (and its claims are done), or has waited HOLD_S, or the pulling ends. A
group that is not sent (out of time, a destination that cannot work, a flush that fails) gives its
claims back and is deferred.
"""
from __future__ import annotations

import logging
from hub_import.core import clock
from collections import defaultdict, deque

from hub_import.core.logs import log
from hub_import.core.messages import ObjectMessage
from hub_import.core.routes import Destination
from hub_import.hub import HubError, HubNotFoundError
from hub_import.state.batch_budget import TemplateCapError
from hub_import.state.ledger import Ledger
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from hub_import.state.manifests import ManifestStore
from hub_import.state.store import ConflictError

from .batches import Batches
from .claims import Claims, maybe_ours
from .crash_points import crash_point
from .destinations import asset_for
from .items import Item
from .settler import Settler
from .soft_delete import Gone
from .subscription import Subscription
from .turn import Turn

logger = logging.getLogger(__name__)

# The longest a group waits for more objects before it is sent anyway (at most a quarter of the
# claim timeout): while files trickle in, a flush that keeps pulling must not hold the first of
# them until its budget ends (at most two Hub calls a minute per destination; a group that fills
# sooner is sent when full).
HOLD_S = 30


class Shipper:
    """Holds, groups and ships the objects of one flush (`turn`). It owns what it holds: `held`
    (ledger key -> the item admitted for it and not yet shipped), the open groups with the manifest
    path each is claimed for, and the closed groups waiting for their claims (`full`)."""

    def __init__(self, turn: Turn, ledger: Ledger, claims: Claims, manifests: ManifestStore, batches: Batches,
                 queue: Subscription, settler: Settler):
        self.turn, self.ledger, self.claims, self.manifests = turn, ledger, claims, manifests
        self.batches, self.queue, self.settler = batches, queue, settler
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id
        self.held: dict[str, Item] = {}
        self.groups: dict[Destination, dict[str, Item]] = defaultdict(dict)
        self.paths: dict[Destination, str] = {}  # the manifest each open group's objects are claimed for
        self.full: deque = deque()  # (destination, items, path) of closed groups, sent once their claims are done

    # -- holding -------------------------------------------------------------------------------
    def admit(self, message: ObjectMessage, ack_id: str) -> Item | None:
        """Hold the object of `message`: a new item (returned, for `group` once this pull's deletions
        are done), or, when one is held for it already, folded into that one (None)."""
        key = self.ledger.key(message.ref)
        item = self.held.get(key)
        if item is None:
            item = self.held[key] = Item(message, [ack_id])
            return item
        item.ack_ids.append(ack_id)
        self.summary.duplicates += 1
        if message.ref.generation > item.message.ref.generation:
            item.message = message  # the newest upload is the one judged against a deletion
        return None

    def group(self, item: Item) -> None:
        """Put a new item in its destination's group, claimed at once for the manifest the group will become."""
        dest = item.message.destination
        if dest not in self.paths:
            self.paths[dest] = self.manifests.new_path(self.id)
        self.claims.claim_early(item, self.paths[dest], dest.project)
        self.groups[dest][self.ledger.key(item.message.ref)] = item
        if len(self.groups[dest]) >= self.settings.max_assets_per_manifest:  # no group holds more than one manifest
            self._close(dest)

    def unclaim(self, deletions: list) -> list:
        """Give back the early claims of held imports whose name a deletion in hand concerns: the
        deletion is carried out first and the import, claimed again when its group ships, meets
        its record (an import of the generation deleted is dropped, a newer one imported). Returns
        the deletions to carry out now: one whose import's claim may still stand (its release, or
        the claim itself, of unknown outcome) waits, deferred, as a deletion meeting any fresh
        claim does; that import is claimed again all the same, and meets its own record if it stands."""
        by_key = {self.ledger.key(m.ref): (m, a) for m, a in deletions}
        items = [self.held[k] for k in by_key if k in self.held and self.held[k].claim is not None]
        released = self.claims.give_back(items)
        unsure = {self.ledger.key(i.message.ref) for i in items if i not in released and maybe_ours(i)}
        for item in items:
            item.claim, item.record_generation = None, 0
        waiting = [(m, a) for m, a in deletions if self.ledger.key(m.ref) in unsure]
        if waiting:
            log(logger, logging.INFO, "deletions deferred: the claim of a held import may still stand",
                flush_id=self.id, objects=len(waiting))
        self.queue.defer([Gone(m, [a]) for m, a in waiting])
        return [(m, a) for m, a in deletions if self.ledger.key(m.ref) not in unsure]

    def _close(self, dest: Destination) -> None:  # the group is a manifest now
        self.full.append((dest, list(self.groups.pop(dest).values()), self.paths.pop(dest)))

    def close_waiting(self) -> None:
        """Close the groups that have waited HOLD_S (at most a quarter of the claim timeout)."""
        hold_s = min(HOLD_S, self.turn.lease_s / 4)
        for dest in [d for d, g in self.groups.items() if clock.now() - next(iter(g.values())).claimed_at >= hold_s]:
            self._close(dest)

    # -- shipping ------------------------------------------------------------------------------
    def ship_claimed(self) -> None:
        """Ship the full groups whose claims are done, and (oldest first) as many more as it takes to
        pull no further ahead of the ledger than CLAIMS_AHEAD unfinished claims (memory stays flat)."""
        # (an item without a claim, given back for a deletion, is claimed again when it ships)
        self._prepare([dest for dest, _, _ in self.full])
        while self.full and (self.claims.too_far_ahead()
                             or all(i.claim is None or i.claim.done() for i in self.full[0][1])):
            self._ship(*self.full.popleft())
        self.claims.wait_until_near()  # the claims of groups still filling

    def ship_all(self) -> None:
        """The pulling is over: ship every group, full or not (their new batches made together first)."""
        self._prepare([dest for dest, _, _ in self.full] + list(self.groups))
        while self.full:
            self._ship(*self.full.popleft())
        while self.groups:
            dest, items = self.groups.popitem()
            self._ship(dest, list(items.values()), self.paths.pop(dest))

    def _prepare(self, dests: list[Destination]) -> None:
        """The new batches of groups about to ship, made together (one project read after them all)."""
        if dests and not (self.turn.out_of_time() or self.summary.hub_unavailable):
            self.batches.prepare(dests)

    def abandon(self) -> None:
        """The flush is failing: every group not yet shipped gives its claims back and comes back soon."""
        unsent = [i for _, items, _ in self.full for i in items] + [i for g in self.groups.values() for i in g.values()]
        self.full.clear()
        self.groups.clear()
        self.claims.give_back(unsent)
        self.queue.defer(unsent)

    def _ship(self, dest: Destination, items: list[Item], path: str) -> None:
        """Send `items` as manifest `path` (the one their early claims name)."""
        for item in items:  # no message folds into an item once its group is being shipped
            self.held.pop(self.ledger.key(item.message.ref), None)
        if self.turn.out_of_time() or self.summary.hub_unavailable:
            self.claims.give_back(items)
            self.queue.defer(items)  # out of time, or the Hub refuses us: a later flush takes them
            return
        try:
            batch_ids = self.batches.ids(dest)
        except (HubNotFoundError, TemplateCapError) as exc:
            self.claims.give_back(items)
            self._fail_destination(dest, items, str(exc))
            return
        except (HubError, ConflictError) as exc:
            log(logger, logging.ERROR, f"cannot resolve batches for {dest.project}: {exc}", flush_id=self.id,
                project=dest.project, batches=list(dest.batches))
            self.claims.give_back(items)
            self.queue.defer(items)
            return
        for item in items:
            item.asset = asset_for(self.settings, item.message.ref, dest, batch_ids, item.message.size,
                                   flush_id=self.id)
        kept = self.claims.claim_all(items, path, dest)
        if not kept:
            return
        claimed_at = min(i.claimed_at for i in kept)
        if clock.now() - claimed_at > self.turn.lease_s / 2:
            # So slow that another flush could soon take these claims over as stale: give them back.
            self.claims.give_back(kept)  # (each kept item's record_generation is the claim it holds)
            log(logger, logging.WARNING, "claiming took too long; gave the claims back", flush_id=self.id,
                seconds=round(clock.now() - claimed_at, 1), objects=len(kept))
            self.queue.defer(kept)
            return
        self.queue.extend(kept)
        crash_point("before-manifest")
        manifest = self.manifests.create(path, dest, [i.asset for i in kept], [i.message.ref for i in kept],
                                         self.id, self.turn.lease_s)
        self.summary.manifests.append(path)
        crash_point("after-manifest")
        self.settler.send(manifest, {i.asset.external_id: i for i in kept})

    def _fail_destination(self, dest: Destination, items: list[Item], reason: str) -> None:
        """A destination that cannot work as configured (a batch missing while HUB_CREATE_BATCHES is
        off, a project that does not exist, a batch template past MAX_TEMPLATE_BATCHES): its objects
        go into a failed manifest (shown by `status`) and onto the dead-letter topic with `reason`,
        instead of coming back unseen until Pub/Sub gives up on them. `replay --failed` or `replay
        --dead-letters` brings them back once it is fixed. No ledger record is kept (the claims made
        as they were admitted are given back first): nothing of them went anywhere."""
        assets = [asset_for(self.settings, i.message.ref, dest, size=i.message.size, flush_id=self.id) for i in items]
        path = self.manifests.new_path(self.id, failed=True)
        self.manifests.create(path, dest, assets, [i.message.ref for i in items], self.id, 0,
                              state=MANIFEST_FAILED, error=reason)
        self.summary.manifests.append(path)
        self.summary.failed += len(items)
        log(logger, logging.ERROR, f"cannot import into project {dest.project}: {reason}", flush_id=self.id,
            manifest=path, project=dest.project, batches=list(dest.batches), objects=len(items))
        confirmed = self.queue.dead_letter([(*i.message.encode(), reason) for i in items])
        self.queue.ack([a for i, ok in zip(items, confirmed) if ok for a in i.ack_ids])
        self.queue.defer([i for i, ok in zip(items, confirmed) if not ok])
