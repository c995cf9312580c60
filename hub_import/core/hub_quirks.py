"""Everything we assume about the Hub that its public material does not say, in one place.

FACTS (../shared/hub-api.md: the API reference and the SDK `ango` 1.4.10) are not here: they
live where they are used (paths in client.py). Each GUESS below is one reading of something the
public material leaves open; the stand-in (deploy/local/hub_standin.py) has a switch for each,
and the product is tested to stay exactly once under every setting of every switch. Where a
behaviour can be observed, the client does not guess at all: it learns it (`Behaviour`) from
the answers it reads, and `python -m hub_import check` reports what it learned.
"""
from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass

# GUESS: the Hub's 400 text names a bad asset as `assets[<i>]` (the stand-in writes it so). When
# no index is named, the flush bisects the request, and stops when both halves fail alike.
_ASSET_INDEX = re.compile(r"assets\[(\d+)\]")

# GUESS: statuses after which the Hub surely stored nothing, so the request may be sent again
# at once (after a wait, for 429). 400/401/403/404/451 are documented refusals; 413 comes from a
# proxy in front of the application; a 3xx is a pointer elsewhere. Every other status, a 5xx, a
# timeout, a reset or a body we cannot read leaves the outcome unknown: it is settled later.
NOT_STORED_STATUSES = frozenset({400, 401, 403, 404, 413, 429, 451})

# GUESS: a successful import answers {"status": "success", "data": {"assets": {"assetsCreated": N}}}
# (the 2023 docs' example). A 2xx whose `status` is not "success", or whose assetsCreated is less
# than what was sent, is an unknown outcome; a success without a count is taken at its word.
SUCCESS_STATUS = "success"

# GUESS: how many asset ids one soft-delete (DELETE /v2/project/{id}/assets) may name. The SDK
# sends whatever list it is given and the public material states no limit; 100 ids keep a body
# near 3 KB, under any proxy's limit, and the Hub's pace still deletes 10,000 assets a minute.
DELETE_BATCH = 100

# GUESS: `sort=-createdAt` on the asset listing. The SDK never sends it and the reference does not
# list /assets among sortable endpoints, so it is sent as a hint only: the order is always checked
# from the rows (`Behaviour.order`), never assumed.
LIST_SORT = "-createdAt"

# GUESS: how far the Hub's createdAt may run behind our clock, beyond the offset its Date header
# shows (one-second resolution), when a reconcile cuts a scan at "created since".
CLOCK_MARGIN_S = 2.0

# GUESS: how long after an unknown outcome the Hub may still store the request's assets (a gateway
# that timed out while the application went on). Nothing of it is re-sent before this has passed.
# The default for HUB_SETTLE_SECONDS (config.py); self-healing (heal.py) catches what is later still.
# GUESS too: the asset listing shows an asset within this time of its import's answer (a search
# index may lag the database: stand-in switch `list_lag_s`). So an asset sent less than a settle time
# ago and not listed is not yet absent: a deletion looks for it again later (soft_delete.py), audit
# does not call it missing, a reconcile waits a settle time anyway (after a late store, the lag runs
# on top of the store's delay) and heal HEAL_AFTER_SETTLES of them. A Hub whose listing lags longer
# needs HUB_SETTLE_SECONDS set above its lag (README, Configure).
DEFAULT_SETTLE_S = 300


# GUESS: a lost import that was not stored within HEAL_AFTER_SETTLES settle times never will be.
# Assets sent again after a reconcile are checked for a second copy once that much time has passed.
HEAL_AFTER_SETTLES = 5


# GUESS: GET /v2/storages may answer fewer rows than the `limit` asked (documented max 100) without
# saying so, as some APIs cap a page silently. So the storages are read on, page after page, until a
# page brings nothing new or is shorter than the longest page seen: one call more than needed when
# the account has fewer integrations than a page holds, and no integration missed under any cap.
STORAGES_READ_ON = True

# GUESS: how an integration of GET /v2/storages names the bucket it reads: its `bucket` field holds
# the bare bucket name (the API reference lists `bucket`; the SDK's create_storage model has none).
# A `gs://` prefix and a trailing `/` are tolerated. The `type` field (the reference's aws|gcs|azure;
# the SDK's provider names AWS|GCP|AZURE) rules out only what surely is not GCS: a row of another
# cloud's type never matches, a row without a type does.
NOT_GCS_TYPES = frozenset({"aws", "s3", "azure"})


def storage_bucket(row: dict) -> str | None:
    """The GCS bucket a storage integration row of GET /v2/storages reads, or None (another cloud's,
    or no bucket named)."""
    if str(row.get("type") or row.get("provider") or "").strip().lower() in NOT_GCS_TYPES:
        return None
    bucket = str(row.get("bucket") or "").strip().removeprefix("gs://").strip("/").lower()
    return bucket or None


# GUESS: every asset listing row carries the `data` URL its asset was imported with (the 2023 docs read
# `data.assets[i].data`). It is the one proof that an asset under an externalId is ours, not one made
# by hand under the same externalId: a row without it is never deleted (deletions, heal, audit --fix),
# only left, logged and counted (stand-in switch `list_data`). A reconcile, which deletes nothing,
# counts such a row as found, so that an asset is never sent twice.
def proven_ours(row: dict, data_url: str | None) -> bool | None:
    """Whether a listing row is the asset we sent with `data_url`: True (the same URL), False (another
    URL), None (the row shows no URL: it cannot be told)."""
    if "data" not in row or row["data"] is None:
        return None
    return row["data"] == data_url


def bad_asset_indexes(message: str, n_assets: int) -> list[int]:
    """The asset positions a 400 message names, within range."""
    return sorted({int(i) for i in _ASSET_INDEX.findall(message or "") if int(i) < n_assets})


@dataclass
class Behaviour:
    """What this client has seen the Hub do; None while not yet seen.

    order               "newest_first" | "oldest_first" | "unordered": the asset listing's order
                        (whatever `sort` says), from the createdAt of the rows it returned
    created_at          whether listing rows carry createdAt
    external_id_filter  "exact" | "substring" | "ignored": what filters={"externalId": x} matches
    storages_paged      whether GET /v2/storages without `limit` answered fewer than it holds
    page_size           rows a listing page really holds, when the Hub caps it below what we ask
    """

    order: str | None = None
    created_at: bool | None = None
    external_id_filter: str | None = None
    storages_paged: bool | None = None
    page_size: int | None = None

    def __post_init__(self):
        self._lock = threading.Lock()

    def learn(self, **seen) -> None:
        with self._lock:
            for name, value in seen.items():
                if value is not None:
                    setattr(self, name, value)

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


def order_of(created: list[float]) -> str | None:
    """The order a run of createdAt values shows: newest_first, oldest_first, unordered, or None
    (too few distinct values to tell)."""
    ups = sum(1 for a, b in zip(created, created[1:]) if b > a)
    downs = sum(1 for a, b in zip(created, created[1:]) if b < a)
    if ups and downs:
        return "unordered"
    if downs:
        return "newest_first"
    if ups:
        return "oldest_first"
    return None


def filter_kind(wanted: str, rows: list[dict]) -> str | None:
    """What a listing filtered on externalId=`wanted` shows of the filter: exact, substring,
    ignored, or None (no rows, nothing to tell)."""
    ids = [str(r.get("externalId", "")) for r in rows]
    if not ids:
        return None
    if any(wanted not in i for i in ids):
        return "ignored"
    if any(i != wanted for i in ids):
        return "substring"
    return "exact"
