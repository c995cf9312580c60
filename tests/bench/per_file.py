"""`make bench`, the per-file pieces: the ingest function's CPU per event and cold start (case 4),
and what the size probe reads (case 5). `line` is bench.py's reporter."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from deploy.local.processes import ROOT
from hub_import.core.settings import load


def case_ingest(line, env: dict) -> None:
    """The ingest function's CPU per event (its I/O excluded) and its cold start."""
    from cloudevents.http import CloudEvent

    from hub_import.ingest import handler as ingest

    s = load({**os.environ, **env, "PROBE_IMAGE_SIZE": "false"})
    published = []
    ingest.publish = lambda topic, message: published.append(message) or None  # the I/O excluded
    ingest.wait = lambda future: "id"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events = [CloudEvent({"type": "google.cloud.storage.object.v1.finalized", "id": str(i),
                          "source": "//storage.googleapis.com/projects/_/buckets/landing", "time": now},
                         {"bucket": "landing", "name": f"cams/{i % 50}/photo {i}.jpg", "generation": str(i + 1),
                          "size": "123456", "contentType": "image/jpeg", "timeCreated": now})
              for i in range(10_000)]
    import logging
    logging.getLogger("hub_import").setLevel(logging.WARNING)
    t0 = time.process_time()
    for e in events:
        ingest.handle_event(e, s)
    per_event_ms = (time.process_time() - t0) / len(events) * 1000
    line("4 ingest cpu/event", f"{per_event_ms:.3f} ms CPU per event over {len(events)} events", "< 1 ms",
         per_event_ms < 1.0, per_event_ms=per_event_ms, queued=len(published))

    def import_time(code: str) -> float:
        samples = []
        for _ in range(7):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True)
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    base = import_time("import functions_framework, google.cloud.storage, google.cloud.pubsub_v1")
    ours = import_time("import main")
    ratio = ours / base
    line("4 cold start", f"import main {ours * 1000:.0f} ms vs the three libraries {base * 1000:.0f} ms; ratio {ratio:.2f}",
         "ratio <= 1.15", ratio <= 1.15, main_s=ours, libraries_s=base, ratio=ratio)


def case_probe(line) -> None:
    """Bytes the size probe reads per image, over formats and sizes."""
    from deploy.local.samples import make_image
    from hub_import.ingest.probe import image_size

    samples = []
    for fmt, dims, extra in [("JPEG", (400, 300), {}), ("JPEG", (1200, 900), {"exif_padding": 60_000}),
                             ("JPEG", (3000, 2000), {"orientation": 6, "quality": 95}),
                             ("PNG", (300, 300), {}), ("PNG", (2000, 2000), {}),
                             ("WEBP", (800, 600), {}), ("WEBP", (2500, 2500), {"lossless": True}),
                             ("TIFF", (200, 200), {}), ("TIFF", (1900, 1900), {}), ("TIFF", (4100, 4100), {})]:
        data = make_image(fmt, *dims, noise=True, **extra)
        reads = []

        def fetch(start, end, data=data):
            reads.append(end - start)
            return data[start:end]
        result = image_size(fetch, len(data), 1024 * 1024)
        samples.append({"format": fmt, "file_bytes": len(data), "bytes_read": result.bytes_read,
                        "reads": len(reads)})
    read = [s["bytes_read"] for s in samples]
    median = statistics.median(read)
    line("5 size probe", f"median {median / 1024:.1f} KiB read, max {max(read) / 1024:.1f} KiB, files "
         f"{min(s['file_bytes'] for s in samples) / 1e3:.0f} KB..{max(s['file_bytes'] for s in samples) / 1e6:.0f} MB",
         "<= cap (1 MiB), median < 64 KiB", max(read) <= 1024 * 1024 and median < 64 * 1024, samples=samples)
