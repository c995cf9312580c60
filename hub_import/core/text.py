"""Text that crosses a limit counted in bytes (Pub/Sub attributes, log fields), cut safely."""
from __future__ import annotations


def cut_utf8(text: str, limit: int) -> str:
    """`text` in at most `limit` bytes of UTF-8, cut on a character boundary (with "…" when cut)."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw.decode("utf-8")
    return raw[:limit - 3].decode("utf-8", "ignore") + "…"
