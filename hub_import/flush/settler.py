"""The settler: one manifest into the Hub, and what became of each of its assets recorded.

`send` settles an earlier unknown outcome first (a reconcile: what the Hub holds is not sent
again), sends the rest (import_call.py), and `settle` writes the outcome in an order that a crash
between any two writes cannot turn into a loss or a second copy: the ledger first (assets that
leave the manifest point where they went), then the sent marker, then the manifest's state, and
only then the acks.
"""
from __future__ import annotations

import logging
from hub_import.core import clock

from hub_import.core.assets import Asset
from hub_import.core.logs import log
from hub_import.core.messages import ObjectMessage
from hub_import.core.objects import ObjectRef
from hub_import.hub import HubAuthError, HubClient, HubError, HubNotFoundError, Progress
from hub_import.state.ledger import CLAIMED, FAILED, Ledger
from hub_import.state.manifests import FAILED as MANIFEST_FAILED
from hub_import.state.manifests import PENDING, Manifest, ManifestStore
from hub_import.state.manifests import SENT as MANIFEST_SENT

from . import heal
from .crash_points import crash_point
from .dead_letters import UNCONFIRMED, owed_dead_letters
from .import_call import Outcome, send_assets
from .items import Item
from .subscription import Subscription
from .turn import Turn

logger = logging.getLogger(__name__)


class Settler:
    """Sends manifests for one flush (`turn`): the Hub it imports into, the ledger and manifests it
    records in, the queue it acks and dead-letters on."""

    def __init__(self, turn: Turn, hub: HubClient, ledger: Ledger, manifests: ManifestStore, queue: Subscription):
        self.turn, self.hub, self.ledger, self.manifests, self.queue = turn, hub, ledger, manifests, queue
        self.settings, self.summary, self.id = turn.settings, turn.summary, turn.id

    def send(self, manifest: Manifest, items: dict[str, Item]) -> None:
        """Get `manifest` into the Hub and record the outcome. A manifest whose earlier import has
        an unknown outcome (`uncertain_since`) is settled first: what the Hub holds is not sent again."""
        dest = manifest.destination
        objects = dict(zip((a.external_id for a in manifest.assets), manifest.objects))
        todo = list(manifest.assets)
        found: list[Asset] = []
        since = manifest.state.get("uncertain_since")
        if since is not None:
            progress = Progress.from_json(manifest.state.get("reconcile"))
            calls_before = progress.calls
            error: HubError | None = None
            try:
                done = self.hub.reconcile(dest.project, {a.external_id: a.data for a in todo}, since=float(since) - 1,
                                          progress=progress, max_calls=self.turn.reconcile_calls_left(),
                                          deadline=self.turn.deadline)
            except (HubNotFoundError, HubAuthError) as exc:
                if isinstance(exc, HubAuthError) and exc.status != 403:
                    done, error = False, exc
                else:  # the project is gone, or closed to us: it holds none of them, and never will
                    self.summary.reconcile_calls += progress.calls - calls_before
                    self._settle(manifest, objects, Outcome(failed=[(a, exc.message) for a in todo]), items)
                    return
            except HubError as exc:
                done, error = False, exc
            self.summary.reconcile_calls += progress.calls - calls_before
            if not done:
                self.manifests.update(manifest, state=PENDING, lease_until=0, reconcile=progress.to_json(),
                                      error=str(error) if error else manifest.state.get("error"))
                self.queue.defer(list(items.values()))
                log(logger, logging.INFO, "settling an unknown outcome goes on in a later flush", flush_id=self.id,
                    manifest=manifest.path, found=len(progress.found), absent=len(progress.absent),
                    calls=progress.calls, reason=str(error) if error else "this flush's share of Hub calls is spent")
                return
            found = [a for a in todo if a.external_id in progress.found]
            todo = [a for a in todo if a.external_id not in progress.found]
            self.summary.found_in_hub += len(found)
            self.summary.reconciled_manifests += 1
            log(logger, logging.INFO, "settled an unknown outcome", flush_id=self.id, manifest=manifest.path,
                in_hub=len(found), to_send=len(todo), calls=progress.calls)
        outcome = send_assets(self.hub, dest.project, todo, priority=dest.priority, deadline=self.turn.deadline) \
            if todo else Outcome()
        # Once an import of these assets had an unknown outcome, it may still land some day: whatever
        # is sent of them from then on is checked later for a second copy (heal.py).
        known = [t for t in (manifest.state.get("heal_since"), since, outcome.uncertain_since) if t is not None]
        heal_since = min(known) if known else None
        unsent_ids = {a.external_id for a in outcome.unsent} | {a.external_id for a, _ in outcome.failed}
        attempted = [a for a in todo if a.external_id not in unsent_ids]
        if heal_since is not None and attempted:
            heal.schedule(self.manifests.store, self.settings, manifest.path, dest.project, attempted,
                          float(heal_since) - 1)
        outcome.heal_since = heal_since
        outcome.sent = found + outcome.sent
        if outcome.stop:
            self.summary.hub_unavailable = str(outcome.error)
        crash_point("after-hub")
        self._settle(manifest, objects, outcome, items)

    def settle_sent(self, manifest: Manifest) -> None:
        """Record `manifest` sent, as its sent marker says (the Hub took every asset whose record
        names it), without a Hub call: nothing of it is reconciled or sent again."""
        objects = dict(zip((a.external_id for a in manifest.assets), manifest.objects))
        self._settle(manifest, objects, Outcome(sent=list(manifest.assets),
                                                heal_since=manifest.state.get("heal_since")), {})

    def _settle(self, manifest: Manifest, objects: dict[str, ObjectRef], outcome: Outcome,
                items: dict[str, Item]) -> None:
        dest = manifest.destination
        sent, failed, uncertain, unsent, error = (outcome.sent, outcome.failed, outcome.uncertain, outcome.unsent,
                                                  outcome.error)
        refs = lambda assets: [objects[a.external_id] for a in assets]  # noqa: E731
        not_before = clock.now() + self.settings.settle_s
        # Where the manifest's own file stays: with what was sent, or with the one kind of unsent.
        keep = "sent" if sent else "uncertain" if uncertain and not unsent and not failed \
            else "unsent" if unsent and not uncertain and not failed else None
        # 1. The ledger first. Assets that leave this manifest (rejected by the Hub, or moved to a new
        # pending manifest) have their records point where they went before the marker settles the rest.
        unconfirmed: set[str] = set()  # rejected assets whose dead letter Pub/Sub did not confirm
        if failed:
            bad = [a for a, _ in failed]
            failed_path = self.manifests.new_path(self.id, failed=True)
            # Their dead letters are owed until confirmed (UNCONFIRMED): a crash or a failed publish
            # leaves them named here, and their messages, not acked, are dead-lettered when they come back.
            failed_manifest = self.manifests.create(
                failed_path, dest, bad, refs(bad), self.id, 0, state=MANIFEST_FAILED,
                error="; ".join(sorted({m for _, m in failed})), **{UNCONFIRMED: [a.external_id for a in bad]})
            self.summary.manifests.append(failed_path)
            crash_point("after-failed-manifest")
            self.settle_records([(objects[a.external_id], a, FAILED, failed_path) for a in bad], dest.project)
            for asset, reason in failed:
                log(logger, logging.ERROR, "the Hub rejected an asset", flush_id=self.id, manifest=failed_path,
                    external_id=asset.external_id, reason=reason)
                item = items.get(asset.external_id)
                message = item.message if item else ObjectMessage(objects[asset.external_id], dest)
                if not self.queue.dead_letter_one(*message.encode(), f"Hub rejected: {reason}"):
                    unconfirmed.add(asset.external_id)
            owed_dead_letters(self.manifests, failed_manifest, unconfirmed, self.id)
            self.summary.failed += len(failed)
            crash_point("after-dead-letters")
        for kind, assets, since in (("uncertain", uncertain, outcome.uncertain_since), ("unsent", unsent, None)):
            if assets and keep != kind:
                path = self.manifests.new_path(self.id)
                self.manifests.create(path, dest, assets, refs(assets), self.id, 0, error=str(error),
                                      uncertain_since=since, not_before=not_before if since else 0,
                                      heal_since=outcome.heal_since)
                self.settle_records([(objects[a.external_id], a, CLAIMED, path) for a in assets], dest.project)
                self.summary.manifests.append(path)
        if sent:
            # Once this marker exists, no redelivery or backfill can send these assets again.
            self.ledger.mark_sent(manifest.path, len(sent))
            crash_point("after-sent-marker")
        # 2. The manifest itself: sent keeps exactly what the Hub got; pending keeps its one kind.
        crash_point("before-state-update")
        attempts = manifest.state.get("attempts", 0) + 1
        if keep == "sent":
            # Against what is stored: a resumed manifest may have dropped moved assets in memory only.
            if len(sent) != len(manifest.state.get("objects", manifest.objects)):
                self.manifests.rewrite_assets(manifest, sent, refs(sent))
            self.manifests.update(manifest, state=MANIFEST_SENT, attempts=attempts, error=None, reconcile=None,
                                  hub_answer={"sent": len(sent), "failed": len(failed),
                                              "moved": len(unsent) + len(uncertain)})
        elif keep in ("uncertain", "unsent"):
            self.manifests.update(manifest, state=PENDING, attempts=attempts, error=str(error), lease_until=0,
                                  reconcile=None, uncertain_since=outcome.uncertain_since if keep == "uncertain"
                                  else None, not_before=not_before if keep == "uncertain" else 0,
                                  heal_since=outcome.heal_since)
        else:
            self.manifests.discard(manifest)  # every asset now lives in the failed or a new manifest
            if manifest.path in self.summary.manifests:
                self.summary.manifests.remove(manifest.path)
        self.summary.sent += len(sent)
        self.summary.uncertain += len(uncertain)
        left = len(uncertain) + len(unsent)
        log(logger, logging.INFO if not left else logging.WARNING,
            "manifest sent" if not left else "manifest left pending", flush_id=self.id, manifest=manifest.path,
            project=dest.project, sent=len(sent), failed=len(failed), uncertain=len(uncertain), pending=len(unsent),
            reason=str(error) if error else None)
        # 3. Ack what is done: sent, dead-lettered (confirmed), or carried on by a pending manifest just
        # written. A rejected asset whose dead letter was not confirmed is not acked: it comes back.
        done = [items[e] for e in [a.external_id for a in sent + uncertain + unsent]
                + [a.external_id for a, _ in failed if a.external_id not in unconfirmed] if e in items]
        self.queue.defer([items[e] for e in sorted(unconfirmed) if e in items])
        ack_ids = [ack for item in done for ack in item.ack_ids]
        half = len(ack_ids) // 2
        self.queue.ack(ack_ids[:half])
        crash_point("between-acks")
        self.queue.ack(ack_ids[half:])

    def settle_records(self, rows: list[tuple[ObjectRef, Asset, str, str]], project: str) -> None:
        list(self.turn.pool.map(lambda r: self.ledger.settle(r[0], r[2], r[3], self.id, r[1].external_id,
                                                             project=project, data=r[1].data), rows))
