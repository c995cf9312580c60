"""Sample files made on the spot: real images of every format the probe reads (Pillow), for
the demo, the tests and the benchmarks."""
from __future__ import annotations

import io

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
