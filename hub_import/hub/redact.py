"""What the Hub said, as text fit to log and store: the one door every Hub answer goes through.

A Hub answer (a body, its `message`, a header, a status) becomes text only through
`Redactor.said`, which takes the API key out first and cuts after: a cut made first could split
the key, and the part before the cut would no longer match it. Whatever it returns goes on to
logs, exception texts, manifests' state, dead letters and the results topic, and an answer may
echo the key it refused (`Invalid API key: <key>`), raw, JSON-escaped or URL-encoded.
"""
from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

MESSAGE_LIMIT = 500  # characters of a Hub message kept in an error
READ_LIMIT = 65536  # characters of an answer looked at (far beyond any limit it is cut to)
PIECE = 8  # any run of this many characters of the key (in any of its forms) is taken out too
MASK = "[redacted]"


class Redactor:
    """Redacts one API key. Holds the key's forms, never shows them (no repr of its own state)."""

    def __init__(self, key: str):
        self._forms = _forms(key) if key else ()
        self._reach = max(map(len, self._forms), default=0)  # what is read past READ_LIMIT, to see a key whole

    def __repr__(self) -> str:
        return "Redactor()"

    def said(self, value, limit: int = MESSAGE_LIMIT) -> str:
        """`value` (anything the Hub answered) as text: every form of the key, and every run of PIECE
        characters of one, replaced by [redacted]; then cut to `limit` characters."""
        text = value if isinstance(value, str) else "" if value is None else str(value)
        # A key that begins before READ_LIMIT is looked for whole (read on past it by the longest form),
        # then what lies past READ_LIMIT is dropped: no end of a key is left at either cut.
        text = self._masked(text[:READ_LIMIT + self._reach], keep=READ_LIMIT)
        return text if len(text) <= limit else text[:max(0, limit - 1)] + "…"

    def redact(self, text: str) -> str:
        return self._masked(text, keep=len(text))

    def _masked(self, text: str, keep: int) -> str:
        """The first `keep` characters of `text`, each run that is (part of) a form of the key, as
        found in all of `text`, replaced by MASK."""
        hidden = bytearray(len(text))
        for form in self._forms:
            for piece in {form[i:i + PIECE] for i in range(max(1, len(form) - PIECE + 1))}:
                start = text.find(piece)
                while start >= 0:
                    hidden[start:start + len(piece)] = b"\x01" * len(piece)
                    start = text.find(piece, start + 1)
        if not any(hidden):
            return text[:keep]
        out, i, end = [], 0, min(keep, len(text))
        while i < end:
            if hidden[i]:
                while i < end and hidden[i]:
                    i += 1
                out.append(MASK)
            else:
                out.append(text[i])
                i += 1
        return "".join(out)


def _forms(key: str) -> tuple[str, ...]:
    """The key as an answer may carry it: raw, JSON-escaped, URL-encoded (either hex case)."""
    forms = {key, json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1],
             json.dumps(key)[1:-1].replace("/", "\\/"), quote(key, safe=""), quote_plus(key), quote(key)}
    forms |= {_lower_hex(f) for f in forms if "%" in f}
    return tuple(sorted(f for f in forms if f))


def _lower_hex(text: str) -> str:
    parts = text.split("%")
    return parts[0] + "".join("%" + p[:2].lower() + p[2:] for p in parts[1:])
