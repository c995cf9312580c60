"""Text that crosses a limit counted in bytes (Pub/Sub attributes, log fields), cut safely; and
text that others wrote (object names, metadata, the Hub's messages) made safe to show a person."""
from __future__ import annotations

import re
import unicodedata

# Characters that change how the text around them looks while showing nothing themselves: bidi
# embeddings, overrides and isolates, zero-width characters, the byte order mark. A batch name or a
# contextData value holding one can pass for another (`invoice` and `in\u202evoice`).
LOOK_ALIKE = frozenset("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069"
                       "\ufeff")
_NOT_PLAIN = re.compile(r"[^\x20-\x7e]")  # only these can be what _unseen() finds
_UNSEEN_CATEGORIES = ("Cf", "Zl", "Zp", "Cs")


def cut_utf8(text: str, limit: int) -> str:
    """`text` in at most `limit` bytes of UTF-8, cut on a character boundary (with "…" when cut)."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw.decode("utf-8")
    return raw[:limit - 3].decode("utf-8", "ignore") + "…"


def look_alike(text: str) -> str | None:
    """The first character of LOOK_ALIKE in `text`, named (`U+202E RIGHT-TO-LEFT OVERRIDE`), or None."""
    for c in text:
        if c in LOOK_ALIKE:
            return f"U+{ord(c):04X} {unicodedata.name(c, 'format character')}"
    return None


def for_terminal(value) -> str:
    """`value` as text a terminal shows as it is: every control character (C0 with newline and tab,
    DEL, C1; so ESC and CSI, and with them cursor moves, colours, window titles, OSC 8 links), every
    invisible format character (bidi overrides, zero-width ones) and line or paragraph separator
    written as its escape (`\\x1b`, `\\u202e`). One line in, one line out."""
    text = value if isinstance(value, str) else str(value)
    return _NOT_PLAIN.sub(lambda m: _escaped(m.group()) if _unseen(m.group()) else m.group(), text)


def lines_for_terminal(lines) -> str:
    """Lines, each `for_terminal` (a newline inside one is shown as `\\x0a`), joined by newlines."""
    return "\n".join(for_terminal(line) for line in lines)


def json_for_terminal(text: str) -> str:
    """JSON text (json.dumps with ensure_ascii=False) with the characters that json leaves as they
    are and a terminal would act on (DEL, C1, format characters, U+2028/U+2029) written as \\u
    escapes: the same JSON, safe to show (a log line on the CLI's standard error)."""
    return _NOT_PLAIN.sub(lambda m: _json_escaped(m.group()) if _unseen(m.group()) else m.group(), text)


def _unseen(c: str) -> bool:
    return c < " " or "\x7f" <= c <= "\x9f" or (c > "\x9f" and unicodedata.category(c) in _UNSEEN_CATEGORIES)


def _escaped(c: str) -> str:
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def _json_escaped(c: str) -> str:
    o = ord(c)
    if o < 0x10000:
        return f"\\u{o:04x}"
    o -= 0x10000
    return f"\\u{0xd800 + (o >> 10):04x}\\u{0xdc00 + (o & 0x3ff):04x}"
