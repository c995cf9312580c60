"""The size probe reads width and height from the first bytes of real image files."""
from __future__ import annotations

import pytest

from deploy.local.samples import make_image
from hub_import.ingest.probe import FAR_READ, FIRST_READ, MAX_READS, ProbeError, image_size


def reader(data: bytes, log: list | None = None):
    def fetch(start: int, end: int) -> bytes:
        if log is not None:
            log.append((start, end))
        return data[start:end]
    return fetch


@pytest.mark.parametrize("fmt,save", [
    ("JPEG", {}), ("JPEG", {"progressive": True}), ("PNG", {}), ("GIF", {}), ("BMP", {}),
    ("TIFF", {}), ("TIFF", {"compression": "tiff_lzw"}),
    ("WEBP", {"lossless": False}), ("WEBP", {"lossless": True}),
])
def test_each_format_gives_its_width_and_height(fmt, save):
    data = make_image(fmt, 321, 123, **save)
    size = image_size(reader(data), len(data))
    assert (size.width, size.height) == (321, 123)
    assert size.bytes_read <= len(data)


def test_webp_with_extended_header_is_read():
    data = make_image("WEBP", 300, 200, orientation=1)  # exif forces the VP8X form
    assert data[12:16] == b"VP8X"
    size = image_size(reader(data), len(data))
    assert (size.width, size.height) == (300, 200)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "PNG"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_the_size_a_browser_shows(fmt, orientation):
    data = make_image(fmt, 400, 100, orientation=orientation)
    size = image_size(reader(data), len(data))
    expected = (100, 400) if orientation >= 5 else (400, 100)
    assert (size.width, size.height) == expected


def test_a_jpeg_with_a_large_exif_block_is_read_in_a_few_small_reads():
    data = make_image("JPEG", 640, 480, orientation=6, exif_padding=60_000, noise=True)
    assert len(data) > 100_000
    reads: list = []
    size = image_size(reader(data, reads), len(data))
    assert (size.width, size.height) == (480, 640)
    assert size.bytes_read < 32 * 1024 and len(reads) <= 3


def test_the_probe_never_reads_more_than_the_cap():
    data = make_image("JPEG", 64, 64, exif_padding=60_000)
    reads: list = []
    with pytest.raises(ProbeError, match="within the first"):
        image_size(reader(data, reads), len(data), cap=10_000)
    assert sum(end - start for start, end in reads) <= 10_000


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_truncated_files_raise_probe_error(fmt):
    data = make_image(fmt, 50, 40)[:9]
    with pytest.raises(ProbeError):
        image_size(reader(data), len(data))


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff" + b"\x00" * 100, b"\x89PNG\r\n\x1a\n" + b"\xff" * 40,
                                  b"%PDF-1.7 not an image", b"RIFF\0\0\0\0WAVEfmt "])
def test_corrupt_or_unsupported_files_raise_probe_error(data):
    with pytest.raises(ProbeError):
        image_size(reader(data), len(data))


def scattered_jpeg(width: int = 640, height: int = 480, span: int = 1_200_000) -> bytes:
    """A crafted JPEG: each APP segment ends one byte past the probe's last read, so that every
    next marker needs a read of its own; the frame header comes after `span` bytes of them."""
    out = bytearray(b"\xff\xd8")
    read_end = FIRST_READ
    while len(out) < span:
        length = read_end + 1 - len(out) - 2
        out += b"\xff\xe1" + length.to_bytes(2, "big") + b"\0" * (length - 2)
        read_end = len(out) + FAR_READ
    out += b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big") + b"\x03" + b"\0" * 9
    return bytes(out + b"\xff\xd9")


def test_a_jpeg_whose_segments_each_point_past_the_last_read_costs_at_most_max_reads_requests():
    # GIVEN a JPEG crafted so that every segment jumps just past what was read (1 MiB of them)
    data = scattered_jpeg()
    reads: list = []
    # WHEN the probe reads it under the default byte cap
    with pytest.raises(ProbeError, match=f"within {MAX_READS} reads"):
        image_size(reader(data, reads), len(data), cap=1024 * 1024)
    # THEN it gave up after MAX_READS ranged reads, not one per 4 KiB
    assert len(reads) == MAX_READS


def test_a_normal_jpeg_costs_one_read_and_the_crafted_one_is_a_valid_jpeg():
    plain = make_image("JPEG", 640, 480)
    reads: list = []
    assert (image_size(reader(plain, reads), len(plain)).width, len(reads)) == (640, 1)
    # the crafted file is no corrupt one: given the reads, its size is there to be found
    data = scattered_jpeg(span=40_000)
    size = image_size(reader(data), len(data), max_reads=1000)
    assert (size.width, size.height) == (640, 480)


def test_an_upload_of_the_crafted_jpeg_is_queued_without_its_size_and_a_warning(caplog):
    import logging

    from hub_import.core.objects import ObjectRef
    from hub_import.core.settings import load
    from hub_import.ingest.handler import describe

    settings = load({"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "HUB_PROJECT_ID": "proj",
                     "HUB_STORAGE_ID": "st"})
    data = scattered_jpeg()
    ref = ObjectRef("landing", "cams/crafted.jpg", 1712345678901234, size=len(data), content_type="image/jpeg")
    reads: list = []
    caplog.set_level(logging.INFO, logger="hub_import")
    # WHEN the upload is described for the queue
    message = describe(ref, settings, event="e1", fetch=reader(data, reads))
    # THEN it is still queued, without dimensions, after MAX_READS reads, and the reason is a WARNING
    assert message is not None and message.ref == ref and message.size is None
    assert len(reads) == MAX_READS
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and f"within {MAX_READS} reads" in warned[0].getMessage()
