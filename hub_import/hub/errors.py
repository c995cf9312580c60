"""What can go wrong in a Hub call, as types the flush can act on.

Each error says whether the Hub may have acted on the request: only `HubOutcomeUnknownError`
leaves that open; every other error means nothing was stored (see quirks.py for why each
status is read so).
"""
from __future__ import annotations

from typing import Sequence

from hub_import.core.hub_quirks import bad_asset_indexes


class HubError(Exception):
    """A Hub call that failed. `status` is the HTTP status (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.message = message
        self.status = status


class HubRejectedError(HubError):
    """400: the Hub refused the request as invalid; nothing of it was stored. Not retried.

    `indexes` are the positions in `assets` that the Hub's message names; empty when it names
    none (then the request as a whole, or an unnamed asset, is at fault).
    """

    def __init__(self, message: str, assets: Sequence = ()):
        super().__init__(message, 400)
        self.assets = list(assets)
        self.indexes = bad_asset_indexes(message, len(self.assets))


class HubTooLargeError(HubError):
    """413: the request body is too large for the Hub (or a proxy before it); nothing stored."""

    def __init__(self, message: str):
        super().__init__(message, 413)


class HubAuthError(HubError):
    """401 or 403: the API key is missing, wrong, or may not do this. Not retried."""


class HubNotFoundError(HubError):
    """404: no such project (or other object). Not retried."""


class HubGeofencedError(HubError):
    """451: the organization is geofenced; no call will succeed from here."""


class HubRedirectError(HubError):
    """A 3xx answer. Redirects are never followed, so that the API key never reaches another host."""


class HubUnavailableError(HubError):
    """Failures that surely stored nothing (429s, refused connections) lasted past the deadline;
    or, for a read, any retryable failure did."""


class HubOutcomeUnknownError(HubUnavailableError):
    """The Hub may or may not hold `assets`, sent at `sent_at` (wall time, clock.now()).

    Raised at once on an import's timeout, reset, 5xx, unexpected status or unexpected body:
    nothing of that request may be sent again until it has been settled (reconcile.py).
    """

    def __init__(self, message: str, assets: Sequence, sent_at: float, status: int = 0):
        super().__init__(message, status)
        self.assets = list(assets)
        self.sent_at = sent_at
