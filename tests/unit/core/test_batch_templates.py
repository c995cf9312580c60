"""Batch names that say where and when: a route's batches filled in from the object, checked at
config load, and an object its template cannot name is skipped with the reason."""
from __future__ import annotations

import pytest

from hub_import.core.decisions import decide
from hub_import.core.objects import ObjectRef
from hub_import.core.settings import ConfigError, load

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "LANDING_BUCKET": "landing",
        "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}


def ref(name="cams/c7/2024/img.jpg", created="2024-03-05T10:00:00.123Z", **metadata):
    return ObjectRef("landing", name, 1, 10, "image/jpeg", time_created=created, metadata=metadata)


def batches(template: str, obj: ObjectRef, **env) -> tuple[str, ...]:
    decision = decide(obj, load({**BASE, "HUB_BATCHES": template, **env}))
    assert decision.destination is not None, decision.reason
    return decision.destination.batches


@pytest.mark.parametrize("template,expected", [
    ("{dir}", "cams/c7/2024"), ("{top}", "cams"), ("drop {date}", "drop 2024-03-05"),
    ("{meta.camera}-{date}", "cam7-2024-03-05"), ("plain", "plain"), ("{{raw}}", "{raw}"),
])
def test_each_field_is_filled_in_from_the_object(template, expected):
    assert batches(template, ref(camera="cam7")) == (expected,)


def test_the_date_is_the_upload_day_in_utc():
    assert batches("{date}", ref(created="2024-03-05T23:30:00-02:00")) == ("2024-03-06",)


def test_the_destination_says_which_template_made_each_name_and_plain_names_stay_plain():
    s = load({**BASE, "HUB_BATCHES": "incoming,day-{date}"})
    dest = decide(ref(), s).destination
    assert dest.batches == ("incoming", "day-2024-03-05")
    assert dict(dest.templates) == {"day-2024-03-05": "day-{date}"}


def test_two_templates_that_give_one_name_give_it_once():
    assert batches("{top},cams", ref()) == ("cams",)


def test_route_batches_are_templates_too():
    s = load({**BASE, "HUB_ROUTES": '[{"prefix": "cams/", "batches": ["cam-{meta.camera}"], "priority": 3}]'})
    dest = decide(ref(camera="c9"), s).destination
    assert dest.batches == ("cam-c9",) and dest.priority == 3


@pytest.mark.parametrize("template,obj,reason", [
    ("{dir}", ref(name="top.jpg"), "{dir} is empty"),
    ("{top}", ref(name="top.jpg"), "{top} is empty"),
    ("{date}", ref(created=""), "{date} is unknown"),
    ("{date}", ref(created="yesterday"), "{date} is unknown"),
    ("cam-{meta.camera}", ref(), "no metadata 'camera'"),
    ("cam-{meta.camera}", ref(camera="  "), "no metadata 'camera'"),
    ("{meta.camera}", ref(camera="x" * 201), "longer than 200"),
    ("{meta.camera}", ref(camera="a\nb"), "control character"),
])
def test_an_object_its_template_cannot_name_is_skipped_with_the_reason(template, obj, reason):
    decision = decide(obj, load({**BASE, "HUB_BATCHES": template}))
    assert decision.destination is None and reason in decision.reason and template in decision.reason


@pytest.mark.parametrize("variable,value,named", [
    ("HUB_BATCHES", "day-{day}", "{day}"),
    ("HUB_BATCHES", "{meta.}", "{meta.}"),
    ("HUB_BATCHES", "{date:%Y}", "{date:%Y}"),
    ("HUB_BATCHES", "{dir!r}", "{dir!r}"),
    ("HUB_BATCHES", "a}b", "brace"),
    ("HUB_ROUTES", '[{"prefix": "a/", "batches": ["{name}"]}]', "route 0: batch template '{name}'"),
])
def test_an_unknown_field_is_refused_at_load_naming_the_variable(variable, value, named):
    with pytest.raises(ConfigError, match=f"^{variable}: ") as caught:
        load({**BASE, variable: value})
    assert named in str(caught.value)


def test_make_up_passes_templates_and_metadata_settings_on_and_refuses_a_bad_one_naming_it():
    from deploy.local.stack import StackError, check_settings, settings_from

    caller = {"HUB_BATCHES": "day-{date}", "HUB_CONTEXT_KEYS": "camera", "HUB_METADATA_OVERRIDES": "true",
              "MAX_TEMPLATE_BATCHES": "5", "MAX_CONTEXT_VALUE_BYTES": "64"}
    taken, ignored = settings_from(caller)
    assert taken == caller and ignored == []
    s = check_settings(taken)
    assert s.context_keys == ("camera",) and s.metadata_overrides and s.max_template_batches == 5
    with pytest.raises(StackError, match="HUB_BATCHES: batch template 'day-{day}'"):
        check_settings({"HUB_BATCHES": "day-{day}"})
