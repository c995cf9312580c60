"""Settings come from the environment, checked once; every error names its variable."""
from __future__ import annotations

import pytest

from hub_import.core.routes import Destination
from hub_import.core.settings import ENV, ConfigError, load

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}


def test_defaults_make_a_working_configuration():
    s = load(BASE)
    assert s.default == Destination("proj", "st", (), 0)
    assert s.hub_api_url == "https://imeritapi.ango.ai" and s.requests_per_minute == 100
    assert s.topic_path == "projects/p/topics/hub-import-assets"
    assert s.subscription_path == "projects/p/subscriptions/hub-import-flush"
    assert not s.each_generation and s.probe_image_size and s.skip_empty
    assert "hub_api_key" not in repr(s) or s.hub_api_key == ""


def test_the_api_key_is_never_in_the_settings_repr():
    s = load({**BASE, "HUB_API_KEY": "sekrit-123"})
    assert s.require_api_key() == "sekrit-123" and "sekrit-123" not in repr(s)


def test_a_missing_api_key_is_only_an_error_where_the_hub_is_called():
    with pytest.raises(ConfigError, match="^HUB_API_KEY"):
        load(BASE).require_api_key()


@pytest.mark.parametrize("change,variable", [
    ({"GOOGLE_CLOUD_PROJECT": None}, "GOOGLE_CLOUD_PROJECT"),
    ({"STATE_BUCKET": ""}, "STATE_BUCKET"),
    ({"STATE_BUCKET": "a/b"}, "STATE_BUCKET"),
    ({"HUB_PROJECT_ID": ""}, "HUB_PROJECT_ID"),
    ({"HUB_PRIORITY": "2000"}, "HUB_PRIORITY"),
    ({"HUB_PRIORITY": "high"}, "HUB_PRIORITY"),
    ({"HUB_REQUESTS_PER_MINUTE": "-1"}, "HUB_REQUESTS_PER_MINUTE"),
    ({"HUB_ROUTES": "{not json"}, "HUB_ROUTES"),
    ({"HUB_ROUTES": '[{"prefix": "a/", "glob": "*"}]'}, "HUB_ROUTES"),
    ({"HUB_ROUTES": '[{"prefix": "a/", "priority": 5000}]'}, "HUB_ROUTES"),
    ({"HUB_ROUTES": '[{"prefix": "a/", "colour": "red"}]'}, "HUB_ROUTES"),
    ({"PROBE_IMAGE_SIZE": "maybe"}, "PROBE_IMAGE_SIZE"),
    ({"URL_TEMPLATE": "https://x/{path}"}, "URL_TEMPLATE"),
    ({"URL_TEMPLATE": "ftp://x/{name}"}, "URL_TEMPLATE"),
    ({"EXTERNAL_ID_TEMPLATE": "{nme}"}, "EXTERNAL_ID_TEMPLATE"),
    ({"ON_OVERWRITE": "replace"}, "ON_OVERWRITE"),
    ({"ON_DELETE": "purge"}, "ON_DELETE"),
    ({"MAX_ASSETS_PER_MANIFEST": "0"}, "MAX_ASSETS_PER_MANIFEST"),
    ({"FLUSH_BUDGET_SECONDS": "soon"}, "FLUSH_BUDGET_SECONDS"),
    ({"HUB_API_URL": "imeritapi.ango.ai"}, "HUB_API_URL"),
    ({"HUB_API_URL": "https://imeritapi.ango.ai/v2"}, "HUB_API_URL"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    # Settings that parse but cannot work are refused too, at cold start.
    ({"INCLUDE_GLOBS": "[z-a]*"}, "INCLUDE_GLOBS"),
    ({"EXCLUDE_GLOBS": "tmp/**,[9-0].jpg"}, "EXCLUDE_GLOBS"),
    ({"HUB_ROUTES": '[{"glob": "[z-a]*"}]'}, "HUB_ROUTES"),
    ({"ON_OVERWRITE": "import"}, "ON_OVERWRITE"),
    ({"ON_OVERWRITE": "import", "EXTERNAL_ID_TEMPLATE": "{bucket}/{name}"}, "ON_OVERWRITE"),
    # An empty HUB_STORAGE_ID means "find it in the Hub": for the landing bucket, which must be named.
    ({"HUB_STORAGE_ID": ""}, "LANDING_BUCKET"),
    ({"HUB_STORAGE_ID": "", "HUB_PUBLIC_BUCKET": "false"}, "LANDING_BUCKET"),
    ({"HUB_STORAGE_ID": "", "HUB_ROUTES": '[{"prefix": "a/", "project": "p2", "storage": "s2"}]'}, "LANDING_BUCKET"),
    ({"HUB_PUBLIC_BUCKET": "sometimes"}, "HUB_PUBLIC_BUCKET"),
])
def test_each_bad_setting_gets_one_error_naming_its_variable(change, variable):
    env = {**BASE, **change}
    env = {k: v for k, v in env.items() if v is not None}
    with pytest.raises(ConfigError) as raised:
        load(env)
    assert str(raised.value).startswith(variable + ":"), str(raised.value)


def test_what_the_refused_settings_become_when_they_can_work():
    assert load({**BASE, "ON_OVERWRITE": "import", "EXTERNAL_ID_TEMPLATE": "{name}#{generation}"}).each_generation
    assert load({**BASE, "HUB_STORAGE_ID": "", "HUB_PUBLIC_BUCKET": "true"}).default.storage is None
    routed = load({**BASE, "HUB_PROJECT_ID": "", "HUB_STORAGE_ID": "",
                   "HUB_ROUTES": '[{"prefix": "a/", "project": "p2", "storage": "s2"}]'})
    assert routed.routes[0].destination.storage == "s2"  # every route names its own storage
    # An empty storage id with the landing bucket named: the flush finds the integration (not a cold-start error).
    found = load({**BASE, "HUB_STORAGE_ID": "", "LANDING_BUCKET": "landing"})
    assert found.default.storage is None and found.discovers_storage and found.storage_id == ""
    assert not load({**BASE, "HUB_STORAGE_ID": "", "HUB_PUBLIC_BUCKET": "true"}).discovers_storage
    assert not load({**BASE, "LANDING_BUCKET": "landing"}).discovers_storage  # HUB_STORAGE_ID overrides
    assert not load({**BASE, "HUB_PROJECT_ID": "", "HUB_STORAGE_ID": "", "HUB_ROUTES":
                     '[{"prefix": "a/", "project": "p2", "storage": "s2"}]'}).discovers_storage  # a route's own stays
    assert load({**BASE, "HUB_STORAGE_ID": "", "LANDING_BUCKET": "landing", "HUB_ROUTES":
                 '[{"prefix": "a/", "project": "p2", "storage": "s2"}]'}).routes[0].destination.storage == "s2"
    assert load({**BASE, "INCLUDE_GLOBS": "[a-z]*,**/*.jpg"}).include_globs == ("[a-z]*", "**/*.jpg")
    assert load({**BASE, "ON_DELETE": "Delete"}).delete_follows and not load(BASE).delete_follows


def test_a_refused_setting_says_how_to_fix_it():
    with pytest.raises(ConfigError, match="the flush finds the Hub storage integration whose bucket it is"):
        load({**BASE, "HUB_STORAGE_ID": ""})
    with pytest.raises(ConfigError, match=r"needs \{generation\} in EXTERNAL_ID_TEMPLATE"):
        load({**BASE, "ON_OVERWRITE": "import"})
    with pytest.raises(ConfigError, match="bad character range z-a"):
        load({**BASE, "INCLUDE_GLOBS": "[z-a]*"})


def test_plain_http_hub_is_refused_unless_local_or_allowed():
    with pytest.raises(ConfigError, match="HUB_API_URL: plain http"):
        load({**BASE, "HUB_API_URL": "http://hub.example.com"})
    assert load({**BASE, "HUB_API_URL": "http://127.0.0.1:8080"}).hub_api_url == "http://127.0.0.1:8080"
    assert load({**BASE, "HUB_API_URL": "http://localhost:1/"}).hub_api_url == "http://localhost:1"
    assert load({**BASE, "HUB_API_URL": "http://hub.internal", "HUB_ALLOW_HTTP": "true",
                 "HUB_ALLOW_CUSTOM_HOST": "true"})
    assert load({**BASE, "HUB_API_URL": "http://us-api.ango.ai", "HUB_ALLOW_HTTP": "true"})


def test_routes_fall_back_on_the_default_route_fields():
    s = load({**BASE, "HUB_STORAGE_ID": "st", "HUB_BATCHES": "a, b", "HUB_PRIORITY": "5",
              "HUB_ROUTES": '[{"prefix": "cams/", "project": "p2", "batches": ["night"]}, {"glob": "**/*.pdf"}]'})
    assert s.routes[0].destination == Destination("p2", "st", ("night",), 5)
    assert s.routes[1].destination == Destination("proj", "st", ("a", "b"), 5)


def test_routes_alone_are_enough_without_a_default_project():
    s = load({**BASE, "HUB_PROJECT_ID": "", "HUB_ROUTES": '[{"prefix": "a/", "project": "pa", "storage": "sa"},'
                                                          ' {"prefix": "b/", "project": "pb"}]'})
    assert s.default is None and s.routes[0].destination == Destination("pa", "sa", (), 0)
    assert s.routes[1].destination == Destination("pb", "st", (), 0)  # HUB_STORAGE_ID still the fallback


def test_every_variable_has_a_description():
    assert all(desc for _, desc in ENV.values())
