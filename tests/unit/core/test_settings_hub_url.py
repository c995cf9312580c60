"""HUB_API_URL sends the key only to the Hub: one of its own hosts (HUB_HOSTS) on https's port, or
a local one (the stand-in). A user@ part (https://imeritapi.ango.ai@other.example is a URL of
other.example), another port or another host is refused unless HUB_ALLOW_CUSTOM_HOST=true."""
from __future__ import annotations

import pytest

from hub_import.core.settings import ConfigError, load
from hub_import.core.settings_table import HUB_HOSTS

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}


@pytest.mark.parametrize("url", [*HUB_HOSTS.values(), "https://imeritapi.ango.ai/", "https://us-api.ango.ai:443",
                                 "https://IMERITAPI.ango.ai", "http://127.0.0.1:8080", "http://localhost:1",
                                 "http://[::1]:9000", "https://localhost:8443"])
def test_the_hubs_hosts_and_local_ones_are_taken(url):
    assert load({**BASE, "HUB_API_URL": url}).hub_api_url == url.rstrip("/")


@pytest.mark.parametrize("url, said", [
    ("https://imeritapi.ango.ai@other.example", "a user@ part, which makes its host 'other.example'"),
    ("https://imeritapi.ango.ai:x@other.example", "a user@ part"),
    ("https://imeritapi.ango.ai\\@other.example", "a user@ part"),
    ("https://someone@imeritapi.ango.ai", "a user@ part"),
    ("http://imeritapi.ango.ai@127.0.0.1:9000", "a user@ part"),
    ("https://imeritapi.ango.ai:8443", "port 8443"),
    ("https://other.example", "a host that is not one of the Hub's"),
    ("https://imeritapi.ango.ai.other.example", "a host that is not one of the Hub's"),
    ("https://imeritapi.ango.ai%40other.example", "a host that is not one of the Hub's"),
])
def test_a_url_that_points_elsewhere_is_refused_unless_allowed(url, said):
    # WHEN the URL would send the key somewhere other than the Hub's hosts
    with pytest.raises(ConfigError, match="^HUB_API_URL: ") as raised:
        load({**BASE, "HUB_API_URL": url})
    # THEN the error says why and how to mean it
    assert said in str(raised.value) and "HUB_ALLOW_CUSTOM_HOST=true" in str(raised.value)
    # AND with HUB_ALLOW_CUSTOM_HOST it is taken as given
    assert load({**BASE, "HUB_API_URL": url, "HUB_ALLOW_CUSTOM_HOST": "true"}).hub_api_url == url


def test_a_user_part_is_never_repeated_in_the_error():
    with pytest.raises(ConfigError) as raised:
        load({**BASE, "HUB_API_URL": "https://sk-secret-77:pw-0xdeadbeef@other.example"})
    assert "sk-secret-77" not in str(raised.value) and "0xdeadbeef" not in str(raised.value)


@pytest.mark.parametrize("url", ["https://imeritapi.ango.ai?x=1", "https://imeritapi.ango.ai#f",
                                 "https://imeritapi.ango.ai:port"])
def test_a_query_a_fragment_or_a_bad_port_is_refused(url):
    with pytest.raises(ConfigError, match="^HUB_API_URL: "):
        load({**BASE, "HUB_API_URL": url, "HUB_ALLOW_CUSTOM_HOST": "true"})


def test_plain_http_on_another_host_needs_both_allowances():
    with pytest.raises(ConfigError, match="plain http"):
        load({**BASE, "HUB_API_URL": "http://hub.internal", "HUB_ALLOW_CUSTOM_HOST": "true"})
    with pytest.raises(ConfigError, match="HUB_ALLOW_CUSTOM_HOST"):
        load({**BASE, "HUB_API_URL": "http://hub.internal", "HUB_ALLOW_HTTP": "true"})
