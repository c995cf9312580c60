"""Red team: a manifest's `uncertain_since` is the sender's own wall clock, compared later with the
Hub's createdAt by whichever process reconciles (corrected by *that* process's clock offset). A
sender whose clock runs ahead (an operator's laptop running `flush` or `replay`; a host with a bad
NTP) moves the reconcile's "created since" cut past the lost import's rows."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from deploy.local.processes import ROOT
from tests.integration.flushing import (assert_once, commit_held, flush_until_healed, flush_until_idle, held, publish,
                                        refs, run_flush)
from tests.integration.redteam import HELD, add_others, stack, the_hub  # noqa: F401, F811 - fixtures

RUN = {"MAX_ASSETS_PER_MANIFEST": 20, "HUB_REQUESTS_PER_MINUTE": 6000, "HUB_SETTLE_SECONDS": 2}
# The host's wall clock runs `skew` ahead, as the product sees it: every product module's
# time.time() (monotonic clocks and the client libraries' own deadlines are left alone).
SITECUSTOMIZE = '''import importlib, os, time, types
_skew = float(os.environ.get("REDTEAM_CLOCK_SKEW_S", "0"))
if _skew:
    class _Skewed(types.ModuleType):
        def __getattr__(self, name):
            return getattr(time, name)
    skewed = _Skewed("time")
    skewed.time = lambda: time.time() + _skew
    skewed.time_ns = lambda: time.time_ns() + int(_skew * 1e9)
    import pkgutil, hub_import
    for info in pkgutil.walk_packages(hub_import.__path__, "hub_import."):
        if info.name.endswith("__main__"):
            continue  # (importing it runs the CLI)
        module = importlib.import_module(info.name)
        if getattr(module, "time", None) is time:
            module.time = skewed
'''


@pytest.mark.parametrize("skew_s", [pytest.param(0, marks=pytest.mark.soak), 10], ids=["control-no-skew", "sender-10s-ahead"])
def test_a_lost_import_sent_by_a_host_whose_clock_runs_ahead_is_not_sent_twice(stack, the_hub, tmp_path, skew_s):
    # GIVEN a flush on a host whose clock is `skew_s` ahead, whose import answers 504 and is stored
    # right after it (held by the stand-in, then committed by the test)
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    prefix = f"rt-skew-{skew_s}-{uuid.uuid4().hex[:6]}/"
    messages = publish(stack, refs(prefix, 20))
    the_hub.faults(slow_commit=1.0, slow_commit_delay_s=HELD)
    first = run_flush(stack, PYTHONPATH=f"{tmp_path}:{ROOT}", REDTEAM_CLOCK_SKEW_S=skew_s, **RUN)
    the_hub.faults(slow_commit=0.0)
    assert first["uncertain"] == 20, first
    commit_held(the_hub)
    assert sum(held(stack, prefix).values()) == 20
    # AND others import 150 assets in the project in the next seconds
    add_others(stack, the_hub, f"others-{uuid.uuid4().hex[:6]}/", 150, batch=50)
    # WHEN the scheduled flushes (clock right) settle it once its not_before has come, and heal
    # gets its chance afterwards
    time.sleep(skew_s + 2)
    flush_until_idle(stack, expect=messages, **RUN)
    flush_until_healed(stack, **RUN)  # every heal check a resend left, come due and carried out
    # THEN each file is in the Hub once
    counts = held(stack, prefix)
    assert max(counts.values()) == 1, json.dumps({"doubled": sum(n - 1 for n in counts.values())})
    assert_once(stack, messages)
