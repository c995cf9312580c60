"""The size probe reads width and height from the first bytes of real image files."""
from __future__ import annotations

import pytest

from deploy.local.samples import make_image
from hub_import.ingest.probe import ProbeError, image_size


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
