"""`check` and batch templates: a template (`{date}`, `cam-{meta.camera}`) is filled per file, so it
is reported as a template, with whether the flush may create what it makes, never looked for as a
literal batch name ("batches missing: {date}"); plain names are checked as before. And its summary
counts every line it prints (it printed 12 ok lines and said "11 ok"). (No network: fakes of the
Hub, GCS and Pub/Sub.)"""
from __future__ import annotations

import io
import json
import sys
from types import SimpleNamespace

import pytest

from hub_import.core.settings import load
from hub_import.ops import cli
from hub_import.ops.check import check, report_json, summary_line

ENV = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing", "HUB_API_KEY": "k",
       "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st", "PUBSUB_EMULATOR_HOST": "127.0.0.1:9"}


class Hub:
    """A Hub whose project holds the batch `incoming` only, and the storage `st` reading the landing bucket."""

    def ping(self, deadline=None):
        pass

    def storage(self, storage_id, deadline=None):
        return {"_id": storage_id, "type": "gcs", "bucket": "landing"}

    def project(self, project, deadline=None):
        return {"batches": [{"name": "incoming", "_id": "b1"}]}


Reachable = SimpleNamespace(get_bucket=lambda name: None, get_topic=lambda request, timeout: None,
                            get_subscription=lambda request, timeout: None)


@pytest.fixture(autouse=True)
def no_behaviour(monkeypatch):
    import hub_import.hub.learn as learn

    monkeypatch.setattr(learn, "observe", lambda hub, project, deadline: [("listing order", "oldest first")])


def run(**env) -> list:
    return check(load({**ENV, **env}), Reachable, Reachable, Reachable, Hub())


def hub_project_lines(results) -> list[str]:
    return [r.line() for r in results if r.name == "Hub project proj"]


def test_a_template_is_reported_as_a_template_with_creation_allowed():
    results = run(HUB_BATCHES="incoming,{date}", HUB_CREATE_BATCHES="true")
    lines = hub_project_lines(results)
    assert "ok   Hub project proj: batches incoming" in lines
    assert any(line.startswith("ok   Hub project proj: template {date}: filled per file; creation allowed")
               for line in lines), lines
    assert not any("missing" in line for line in lines)


def test_a_template_without_creation_is_a_warning_not_a_missing_batch():
    results = run(HUB_BATCHES="incoming,cam-{meta.camera}", HUB_CREATE_BATCHES="false")
    lines = hub_project_lines(results)
    assert "ok   Hub project proj: batches incoming" in lines
    [template] = [line for line in lines if "template" in line]
    assert template.startswith("warn Hub project proj: template cam-{meta.camera}: filled per file; creation not "
                               "allowed")
    assert not any(r.status == "fail" for r in results)


def test_a_plain_name_missing_is_still_a_failure():
    results = run(HUB_BATCHES="incoming,archive,{date}", HUB_CREATE_BATCHES="false")
    assert "FAIL Hub project proj: batches missing: archive" in "\n".join(hub_project_lines(results))


def test_the_summary_counts_every_line_printed_the_configuration_too():
    results = run(HUB_BATCHES="incoming")
    printed_ok = [r for r in results if r.line().startswith("ok   ")]
    assert results[0].line() == "ok   configuration: every variable valid"
    assert summary_line(results).startswith(f"{len(printed_ok)} ok, 0 failed")


def test_check_json_fields_and_types(monkeypatch):
    import hub_import.core.clients as clients
    import hub_import.flush.run as flush_run

    for k, v in {**ENV, "HUB_BATCHES": "incoming,{date}", "HUB_CREATE_BATCHES": "false"}.items():
        monkeypatch.setenv(k, v)
    for name in ("storage_client", "publisher_client", "subscriber_client"):
        monkeypatch.setattr(clients, name, lambda: Reachable)
    monkeypatch.setattr(flush_run, "hub_client", lambda settings: Hub())
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(["check", "--json"]) == 0
    body = json.loads(out.getvalue())
    assert {k: type(v) for k, v in body.items()} == {"ok": bool, "counts": dict, "checks": list}
    assert set(body["counts"]) == {"ok", "failed", "skipped", "warnings"}
    assert all(type(n) is int for n in body["counts"].values())
    assert body["counts"]["ok"] == sum(c["status"] == "ok" for c in body["checks"])
    for c in body["checks"]:
        assert set(c) == {"name", "status", "detail", "fix"} and c["status"] in ("ok", "fail", "skip", "warn")
        assert type(c["name"]) is str and type(c["detail"]) is str and (c["fix"] is None or type(c["fix"]) is str)
    assert body == report_json(check(load({**ENV, "HUB_BATCHES": "incoming,{date}", "HUB_CREATE_BATCHES": "false"}),
                                     Reachable, Reachable, Reachable, Hub()))
