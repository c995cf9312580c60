"""What the Hub receives for one object, and the rule that turns an object name into a URL.

The asset's JSON is exactly one element of the array the Hub import call takes, and of the
array a person uploads by hand in the Hub UI (../shared/hub-api.md, ASSET).
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from urllib.parse import quote

from .objects import ObjectRef

DEFAULT_URL_TEMPLATE = "https://storage.googleapis.com/{bucket}/{name}"
DEFAULT_EXTERNAL_ID_TEMPLATE = "{name}"
TEMPLATE_FIELDS = ("bucket", "name", "generation")


class TemplateError(ValueError):
    """A URL or externalId template that names an unknown field or is malformed."""


def encode_path(name: str) -> str:
    """Percent-encode an object name for a URL path: UTF-8, `/` kept, all else not unreserved escaped.

    A segment that is exactly `.` or `..` is escaped too, so that URL normalisation in a
    client cannot fold it away and point at another object.
    """
    segments = quote(name, safe="/").split("/")
    return "/".join({".": "%2E", "..": "%2E%2E"}.get(s, s) for s in segments)


def check_template(template: str, what: str) -> str:
    """Return `template` if it only uses the fields in TEMPLATE_FIELDS, else raise TemplateError."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise TemplateError(f"{what}: {template!r}: {exc}") from exc
    for name in fields:
        if name not in TEMPLATE_FIELDS:
            raise TemplateError(f"{what}: {template!r}: unknown field {{{name}}}; "
                                f"use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")
    return template


def object_url(ref: ObjectRef, template: str = DEFAULT_URL_TEMPLATE) -> str:
    """The `data` URL of an object: the template with the name (and bucket) percent-encoded."""
    return template.format(bucket=quote(ref.bucket, safe=""), name=encode_path(ref.name),
                           generation=ref.generation)


def external_id(ref: ObjectRef, template: str = DEFAULT_EXTERNAL_ID_TEMPLATE) -> str:
    """The asset's `externalId`: the template filled with the raw (unencoded) name."""
    return template.format(bucket=ref.bucket, name=ref.name, generation=ref.generation)


@dataclass(frozen=True)
class Asset:
    """One Hub asset. `batches` holds whatever the Hub is to receive (batch ids); `context_data`
    is its `contextData` (shown to labelers), from the object's custom metadata."""

    external_id: str
    data: str
    storage: str | None = None
    batches: tuple[str, ...] = ()
    width: int | None = None
    height: int | None = None
    context_data: dict[str, str] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict:
        """The asset as the Hub import call and the Hub UI take it."""
        body: dict = {"externalId": self.external_id, "data": self.data}
        if self.storage:
            body["storage"] = self.storage
        if self.batches:
            body["batches"] = list(self.batches)
        if self.width and self.height:
            body["metadata"] = {"width": self.width, "height": self.height}
        if self.context_data:
            body["contextData"] = dict(self.context_data)
        return body

    @classmethod
    def from_json(cls, body: dict) -> "Asset":
        """The inverse of to_json (for manifests read back from the state bucket)."""
        metadata = body.get("metadata") or {}
        return cls(external_id=body["externalId"], data=body["data"], storage=body.get("storage"),
                   batches=tuple(body.get("batches", ())), width=metadata.get("width"),
                   height=metadata.get("height"), context_data=dict(body.get("contextData") or {}))


def build_asset(ref: ObjectRef, *, storage: str | None = None, batches: tuple[str, ...] = (),
                size: tuple[int, int] | None = None, url_template: str = DEFAULT_URL_TEMPLATE,
                external_id_template: str = DEFAULT_EXTERNAL_ID_TEMPLATE,
                context_data: dict[str, str] | None = None) -> Asset:
    """The asset for one object version, bound for `storage` and `batches`, with its size if known
    and `context_data` if any."""
    width, height = size if size else (None, None)
    return Asset(external_id=external_id(ref, external_id_template), data=object_url(ref, url_template),
                 storage=storage, batches=tuple(batches), width=width, height=height,
                 context_data=dict(context_data or {}))
