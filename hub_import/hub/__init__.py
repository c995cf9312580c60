"""The Hub: its API client (client), one request and what its answer means (transport), what we
must guess about it (quirks), settling unknown outcomes (reconcile), pacing (pacer), errors."""
from .client import (ASSETS_PATH, HUB_HOSTS, IMPORT_PATH, LIST_LIMIT, STORAGES_PATH, HubClient,
                     ImportResult)
from .errors import (HubAuthError, HubError, HubGeofencedError, HubNotFoundError, HubOutcomeUnknownError,
                     HubRedirectError, HubRejectedError, HubTooLargeError, HubUnavailableError)
from .pacer import Pacer
from .quirks import Behaviour
from .reconcile import Progress

__all__ = ["ASSETS_PATH", "HUB_HOSTS", "IMPORT_PATH", "LIST_LIMIT", "STORAGES_PATH", "HubClient", "ImportResult",
           "HubAuthError", "HubError", "HubGeofencedError", "HubNotFoundError", "HubOutcomeUnknownError",
           "HubRedirectError", "HubRejectedError", "HubTooLargeError", "HubUnavailableError", "Pacer",
           "Behaviour", "Progress"]
