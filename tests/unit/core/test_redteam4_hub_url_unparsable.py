"""Red team 4 (issue 22): a HUB_API_URL that Python's URL parser itself refuses (an unclosed IPv6
bracket; a netloc holding a character NFKC folds into `@`, `:`, `/`...) escaped the check as a
bare ValueError: the CLI (which catches ConfigError) crashed with a traceback, and the parser's
message repeats the netloc, user:password@ part included. It is a ConfigError naming the
variable, and repeats nothing of the user@ part."""
from __future__ import annotations

import pytest

from hub_import.core.settings import ConfigError, load

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "STATE_BUCKET": "state", "HUB_PROJECT_ID": "proj", "HUB_STORAGE_ID": "st"}


@pytest.mark.parametrize("url", [
    "https://[::1",
    "https://imeritapi.ango.ai\uff20other.example",
    "https://token:pw-5ecret\uff20imeritapi.ango.ai",
    "https://token:pw-5ecret@imeritapi.ango.ai\uff0fx",
])
def test_a_url_the_parser_refuses_is_a_config_error_that_repeats_no_user_part(url):
    with pytest.raises(ConfigError) as caught:
        load({**BASE, "HUB_API_URL": url})
    assert "HUB_API_URL" in str(caught.value) and "5ecret" not in str(caught.value)
