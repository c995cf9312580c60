"""hub_api_url's validation sends the key to the Hub's own hosts only, as the functions do
(hub_import/core/settings.py, HUB_HOSTS): `terraform apply` refuses a user@ part
(https://imeritapi.ango.ai@other.example is a URL of other.example), another port or another
host, evaluated by Terraform itself. The deployed functions get HUB_ALLOW_CUSTOM_HOST=false."""
from __future__ import annotations

import shutil

import pytest

from hub_import.core.settings import ConfigError, load
from hub_import.core.settings_table import HUB_HOSTS

from .test_setting_bounds import CONFIG, verdicts

pytestmark = pytest.mark.skipif(not shutil.which("terraform"), reason="no terraform binary on PATH")

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}
ELSEWHERE = [
    "https://imeritapi.ango.ai@other.example", "https://imeritapi.ango.ai:x@other.example",
    "https://someone@imeritapi.ango.ai", "https://imeritapi.ango.ai:8443", "https://other.example",
    "https://imeritapi.ango.ai.other.example", "https://evil-imeritapi.ango.ai", "https://imeritapi.ango.ai/v1",
    "http://imeritapi.ango.ai", "https://imeritapi.ango.ai?x=@other.example", "https://imeritapiXango.ai",
    " https://imeritapi.ango.ai", "https://imeritapi.ango.ai\nhttps://other.example",
]


def the_functions_take(url: str) -> bool:
    try:
        load({**BASE, "HUB_API_URL": url})
    except ConfigError:
        return False
    return True


def test_the_hubs_own_hosts_pass_and_every_other_url_is_refused():
    admitted = dict(zip([*HUB_HOSTS.values(), *ELSEWHERE],
                        verdicts("hub_api_url", [*HUB_HOSTS.values(), *ELSEWHERE], {})))
    assert admitted == {url: url in HUB_HOSTS.values() for url in admitted}


def test_the_module_admits_no_url_the_functions_refuse():
    # (it admits less: no local host, no http, no custom host; a deployment's functions get
    # HUB_ALLOW_HTTP=false and HUB_ALLOW_CUSTOM_HOST=false)
    env = CONFIG.locals["function_env"]
    assert env["HUB_ALLOW_HTTP"] == env["HUB_ALLOW_CUSTOM_HOST"] == "false"
    probes = [*HUB_HOSTS.values(), *ELSEWHERE, "http://127.0.0.1:8080", "https://us-api.ango.ai:443"]
    for url, passes in zip(probes, verdicts("hub_api_url", probes, {})):
        assert not passes or the_functions_take(url), url
