"""The Hub: its API client (client), one request and what its answer means (transport), settling
unknown outcomes (reconcile), batch names to ids (batches), pacing (pacer), errors, and what it
learns of the Hub (learn). What we must guess about the Hub is in core/hub_quirks.py, since
settings read one of its guesses too."""
from hub_import.core.hub_quirks import Behaviour

from .batches import BatchRun
from .client import ASSETS_PATH, IMPORT_PATH, LIST_LIMIT, STORAGES_PATH, HubClient, ImportResult
from .errors import (HubAuthError, HubError, HubGeofencedError, HubNotFoundError, HubOutcomeUnknownError,
                     HubRedirectError, HubRejectedError, HubTooLargeError, HubUnavailableError)
from .pacer import Pacer
from .reconcile import Progress

__all__ = ["BatchRun", "ASSETS_PATH", "IMPORT_PATH", "LIST_LIMIT", "STORAGES_PATH", "HubClient", "ImportResult",
           "HubAuthError", "HubError", "HubGeofencedError", "HubNotFoundError", "HubOutcomeUnknownError",
           "HubRedirectError", "HubRejectedError", "HubTooLargeError", "HubUnavailableError", "Pacer",
           "Behaviour", "Progress"]
