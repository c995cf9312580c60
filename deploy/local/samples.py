"""Sample files made on the spot: real images of every format the probe reads (Pillow), for
the demo, the tests and the benchmarks.

    python -m deploy.local.samples photo.jpg [WIDTHxHEIGHT]   (the README's explore snippet)

writes one image, its format from the name's extension (jpg, png, gif, webp, bmp, tif), 640x480 unless told.
"""
from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from PIL import Image


def make_image(fmt: str, width: int, height: int, orientation: int | None = None,
               exif_padding: int = 0, noise: bool = False, **save) -> bytes:
    """An image file of `fmt` (JPEG, PNG, GIF, WEBP, BMP, TIFF) as stored, `width` x `height`."""
    mode = "RGB" if fmt != "GIF" else "P"
    if noise:
        import os
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.new(mode, (width, height), color=(200, 30, 30) if mode == "RGB" else 1)
    exif = Image.Exif()
    if orientation is not None:
        exif[274] = orientation
    if exif_padding:
        exif[0x010E] = "x" * exif_padding  # ImageDescription: makes a large EXIF block
    buf = io.BytesIO()
    if fmt == "TIFF" and orientation is not None:
        save.setdefault("tiffinfo", {274: orientation})
    elif len(exif) and fmt in ("JPEG", "PNG", "WEBP"):
        save["exif"] = exif.tobytes()
    img.save(buf, fmt, **save)
    return buf.getvalue()


FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP",
           "tif": "TIFF", "tiff": "TIFF"}


def main(argv: list[str]) -> int:
    size = argv[1] if len(argv) == 2 else "640x480"
    if len(argv) not in (1, 2) or Path(argv[0]).suffix.lower().lstrip(".") not in FORMATS \
            or not re.fullmatch(r"[1-9]\d{0,4}x[1-9]\d{0,4}", size):
        print(f"usage: python -m deploy.local.samples NAME.{{{','.join(FORMATS)}}} [WIDTHxHEIGHT]", file=sys.stderr)
        return 2
    width, _, height = size.partition("x")
    path = Path(argv[0])
    path.write_bytes(make_image(FORMATS[path.suffix.lower().lstrip(".")], int(width), int(height)))
    print(f"{path}: {FORMATS[path.suffix.lower().lstrip('.')]}, {width}x{height}, {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
