"""`make demo` works: its own stack, its sample files, every accepted one in the Hub once."""
from __future__ import annotations

import subprocess
import sys

from deploy.local.processes import ROOT


def test_make_demo_shows_every_accepted_sample_in_the_hub_once_names_the_one_skipped_and_stops_its_stack():
    done = subprocess.run([sys.executable, "-m", "deploy.local.demo"], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "7 assets in the Hub (7 expected, each once: yes)" in done.stdout
    assert "scans/%C3%BCbersicht%20K%C3%B6ln%20%231.png" in done.stdout
    assert "756x1008" in done.stdout, "the rotated phone photo is shown turned"
    assert "\n  skipped tools/installer.exe: type not allowed (extension 'exe', content type " \
           "'application/octet-stream')\nwaiting for the Hub" in done.stdout, "it names the file it skipped, and why"
    assert "installer.exe" not in done.stdout.split("waiting for the Hub")[1]
    trace = done.stdout.split("$ python -m hub_import trace ")[1]
    assert "\n  manifests    manifests/" in trace and "verdict: in the Hub once since" in trace, "it ends with a trace"
    assert "stack stopped." in done.stdout
    assert not list((ROOT / ".local" / "demo").glob("*.pid")), "no server left running"
