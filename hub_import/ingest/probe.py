"""Image width and height, as a browser shows them, from an object's first bytes.

`image_size(fetch, size, cap, max_reads)` reads through `fetch(start, end) -> bytes` (a ranged read, end
exclusive): one small first read, then only the few bytes a format points at beyond it (the
frame header after a large EXIF block, a TIFF directory at the end of the file), never more
than `cap` bytes in all, in no more than `max_reads` ranged reads (a crafted JPEG whose segments
each point just past the last read would otherwise cost one request per 4 KiB of `cap`). JPEG,
PNG, GIF, WebP, BMP and TIFF are understood; EXIF orientation (JPEG, TIFF, PNG eXIf) swaps width
and height for orientations 5 to 8, as browsers do.
An unsupported, truncated or corrupt file raises `ProbeError`; the caller goes on without size.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

FIRST_READ = 16 * 1024
FAR_READ = 4 * 1024
# Requests per object: a first read, an EXIF block, a frame header past it, one more for the odd
# file; past that the probe gives up (the object is queued without its size).
MAX_READS = 4
Fetch = Callable[[int, int], bytes]


class ProbeError(Exception):
    """The size cannot be read: unsupported format, truncated, corrupt, or past the cap."""


@dataclass(frozen=True)
class ImageSize:
    width: int
    height: int
    format: str
    bytes_read: int


class _Source:
    """Bytes of one object, fetched lazily in a few ranged reads, `cap` bytes at most."""

    def __init__(self, fetch: Fetch, size: int, cap: int, max_reads: int = MAX_READS):
        self.fetch, self.size, self.cap, self.max_reads = fetch, size, cap, max_reads
        self.segments: list[tuple[int, bytes]] = []
        self.bytes_read = 0

    def get(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0:
            raise ProbeError("corrupt: negative offset")
        for start, chunk in self.segments:
            if start <= offset and offset + n <= start + len(chunk):
                return chunk[offset - start: offset - start + n]
        end = offset + max(n, FIRST_READ if not self.segments else FAR_READ)
        if self.size:
            end = min(end, self.size)
        if offset + n > end:
            raise ProbeError("truncated: the header points past the end of the file")
        if self.bytes_read + (end - offset) > self.cap:
            end = offset + max(n, self.cap - self.bytes_read)
            if self.bytes_read + (end - offset) > self.cap:
                raise ProbeError(f"header not found within the first {self.cap} bytes read")
        if len(self.segments) >= self.max_reads:
            raise ProbeError(f"header not found within {self.max_reads} reads (its parts are spread too far apart)")
        chunk = self.fetch(offset, end)
        self.bytes_read += len(chunk)
        self.segments.append((offset, chunk))
        if len(chunk) < n:
            raise ProbeError("truncated: the file ends inside its header")
        return chunk[:n]

    def u16(self, offset: int, big: bool) -> int:
        return struct.unpack(">H" if big else "<H", self.get(offset, 2))[0]

    def u32(self, offset: int, big: bool) -> int:
        return struct.unpack(">I" if big else "<I", self.get(offset, 4))[0]


def image_size(fetch: Fetch, size: int = 0, cap: int = 1024 * 1024, max_reads: int = MAX_READS) -> ImageSize:
    """Width and height of the image behind `fetch` (see the module docstring)."""
    src = _Source(fetch, size, cap, max_reads)
    head = src.get(0, min(32, size) if size else 32)
    for magic, kind, reader in _FORMATS:
        if head.startswith(magic) and (kind != "webp" or head[8:12] == b"WEBP"):
            width, height = reader(src)
            if width <= 0 or height <= 0 or width > 1 << 20 or height > 1 << 20:
                raise ProbeError(f"corrupt: {kind} header gives {width}x{height}")
            return ImageSize(width, height, kind, src.bytes_read)
    raise ProbeError("not an image format the probe knows (JPEG, PNG, GIF, WebP, BMP, TIFF)")


def _oriented(width: int, height: int, orientation: int) -> tuple[int, int]:
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _tiff(src: _Source, base: int, tags: tuple[int, ...]) -> dict[int, int]:
    """The first value of each of `tags` in IFD0 of the TIFF structure at `base`."""
    order = src.get(base, 4)
    if order[:2] == b"II":
        big = False
    elif order[:2] == b"MM":
        big = True
    else:
        raise ProbeError("corrupt: bad TIFF byte order")
    if src.u16(base + 2, big) != 42:
        raise ProbeError("unsupported: not a classic TIFF structure (BigTIFF?)")
    ifd = base + src.u32(base + 4, big)
    count = src.u16(ifd, big)
    if count > 1000:
        raise ProbeError("corrupt: TIFF directory too long")
    entries = src.get(ifd + 2, 12 * count)
    found = {}
    for i in range(count):
        tag, kind = struct.unpack(">HH" if big else "<HH", entries[12 * i: 12 * i + 4])
        if tag in tags:
            value = entries[12 * i + 8: 12 * i + 12]
            if kind == 3:  # SHORT, left-justified in the value field
                found[tag] = struct.unpack(">H" if big else "<H", value[:2])[0]
            elif kind == 4:  # LONG
                found[tag] = struct.unpack(">I" if big else "<I", value)[0]
    return found


def _exif_orientation(src: _Source, base: int) -> int:
    try:
        return _tiff(src, base, (274,)).get(274, 1)
    except ProbeError:
        return 1  # a broken EXIF block leaves the image as stored


def _jpeg(src: _Source) -> tuple[int, int]:
    offset, orientation = 2, 1
    for _ in range(10000):
        if src.get(offset, 1) != b"\xff":
            raise ProbeError("corrupt: JPEG marker expected")
        marker = src.get(offset + 1, 1)[0]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            offset += 2
            continue
        length = src.u16(offset + 2, True)
        if length < 2:
            raise ProbeError("corrupt: JPEG segment length")
        if marker == 0xE1 and src.get(offset + 4, 6) == b"Exif\0\0":
            orientation = _exif_orientation(src, offset + 10)
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", src.get(offset + 5, 4))
            return _oriented(width, height, orientation)
        elif marker in (0xD9, 0xDA):
            break
        offset += 2 + length
    raise ProbeError("corrupt: JPEG without a frame header")


def _png(src: _Source) -> tuple[int, int]:
    if src.get(12, 4) != b"IHDR":
        raise ProbeError("corrupt: PNG without IHDR")
    width, height = src.u32(16, True), src.u32(20, True)
    orientation, offset = 1, 33
    for _ in range(64):  # eXIf must come before the image data; look no further than that
        try:
            length, kind = src.u32(offset, True), src.get(offset + 4, 4)
        except ProbeError:
            break
        if kind == b"eXIf":
            orientation = _exif_orientation(src, offset + 8)
            break
        if kind in (b"IDAT", b"IEND"):
            break
        offset += 12 + length
    return _oriented(width, height, orientation)


def _gif(src: _Source) -> tuple[int, int]:
    return src.u16(6, False), src.u16(8, False)


def _bmp(src: _Source) -> tuple[int, int]:
    header = src.u32(14, False)
    if header == 12:
        return src.u16(18, False), src.u16(20, False)
    width, height = struct.unpack("<ii", src.get(18, 8))
    return abs(width), abs(height)


def _webp(src: _Source) -> tuple[int, int]:
    chunk = src.get(12, 4)
    if chunk == b"VP8 ":
        if src.get(23, 3) != b"\x9d\x01\x2a":
            raise ProbeError("corrupt: VP8 start code")
        return src.u16(26, False) & 0x3FFF, src.u16(28, False) & 0x3FFF
    if chunk == b"VP8L":
        if src.get(20, 1) != b"\x2f":
            raise ProbeError("corrupt: VP8L signature")
        bits = src.u32(21, False)
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8X":
        data = src.get(24, 6)
        return 1 + int.from_bytes(data[:3], "little"), 1 + int.from_bytes(data[3:], "little")
    raise ProbeError(f"unsupported WebP chunk {chunk!r}")


def _tiff_image(src: _Source) -> tuple[int, int]:
    tags = _tiff(src, 0, (256, 257, 274))
    if 256 not in tags or 257 not in tags:
        raise ProbeError("corrupt: TIFF without width or height")
    return _oriented(tags[256], tags[257], tags.get(274, 1))


_FORMATS = (
    (b"\xff\xd8\xff", "jpeg", _jpeg),
    (b"\x89PNG\r\n\x1a\n", "png", _png),
    (b"GIF87a", "gif", _gif),
    (b"GIF89a", "gif", _gif),
    (b"RIFF", "webp", _webp),
    (b"BM", "bmp", _bmp),
    (b"II*\0", "tiff", _tiff_image),
    (b"MM\0*", "tiff", _tiff_image),
)
