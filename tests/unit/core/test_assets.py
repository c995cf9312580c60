"""The asset model and the URL rule: any object name becomes a URL that names exactly it."""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deploy.local.hub_standin import check_data_url
from hub_import.core.assets import (Asset, TemplateError, build_asset, check_template, encode_path, external_id,
                                    object_url)
from hub_import.core.objects import ObjectRef

# GCS object names: 1 to 1024 bytes of UTF-8, any character (the XML API's limits aside).
NAMES = st.text(min_size=1, max_size=300).filter(lambda n: len(n.encode()) <= 1024)
TRICKY = st.lists(st.sampled_from(["a", " ", "+", "#", "?", "%", "%20", "/", "//", ".", "..", "é", "日本",
                                   "\u00a0", "\n", "&", "=", ";", "~", "'", "\U0001F600"]),
                  min_size=1, max_size=40).map("".join)


def ref(name: str, bucket: str = "landing-bucket", generation: int = 1) -> ObjectRef:
    return ObjectRef(bucket=bucket, name=name, generation=generation)


@settings(max_examples=500)
@given(st.one_of(NAMES, TRICKY))
def test_any_object_name_becomes_a_url_whose_path_decodes_back_to_it(name):
    url = object_url(ref(name))
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.netloc == "storage.googleapis.com"
    assert not parts.query and not parts.fragment, "a '?' or '#' in a name must not end the path"
    assert unquote(parts.path, errors="strict") == f"/landing-bucket/{name}"
    assert " " not in url and "+" not in url
    assert url.isascii()
    assert check_data_url(url) is None, "the Hub stand-in's own URL check must accept it"


def test_url_keeps_slashes_and_escapes_the_rest():
    assert object_url(ref("cam 1/2026+x/#a?b%.jpg")) == \
        "https://storage.googleapis.com/landing-bucket/cam%201/2026%2Bx/%23a%3Fb%25.jpg"
    assert encode_path("ünï/ç") == "%C3%BCn%C3%AF/%C3%A7"


def test_dot_segments_are_escaped_so_no_client_can_fold_them_away():
    assert encode_path("a/../b/./c") == "a/%2E%2E/b/%2E/c"
    assert encode_path("a/..b/.c") == "a/..b/.c"


def test_external_id_defaults_to_the_raw_object_name():
    assert external_id(ref("dir/a b+é.jpg")) == "dir/a b+é.jpg"
    assert external_id(ref("x.jpg", generation=42), "{bucket}:{name}#{generation}") == "landing-bucket:x.jpg#42"


def test_templates_name_only_known_fields():
    assert check_template("https://cdn.example.com/{name}", "HUB_URL_TEMPLATE")
    with pytest.raises(TemplateError, match=r"unknown field \{path\}"):
        check_template("https://x/{path}", "HUB_URL_TEMPLATE")
    with pytest.raises(TemplateError, match="HUB_URL_TEMPLATE"):
        check_template("https://x/{name", "HUB_URL_TEMPLATE")
    with pytest.raises(TemplateError):
        check_template("{name.__class__}", "HUB_EXTERNAL_ID_TEMPLATE")


def test_asset_json_is_what_the_hub_import_takes():
    asset = build_asset(ref("a/b c.png"), storage="st1", batches=("b1",), size=(640, 480))
    assert asset.to_json() == {"externalId": "a/b c.png",
                               "data": "https://storage.googleapis.com/landing-bucket/a/b%20c.png",
                               "storage": "st1", "batches": ["b1"],
                               "metadata": {"width": 640, "height": 480}}
    assert Asset.from_json(asset.to_json()) == asset


def test_an_asset_without_size_or_storage_leaves_those_fields_out():
    assert build_asset(ref("a.pdf")).to_json() == {
        "externalId": "a.pdf", "data": "https://storage.googleapis.com/landing-bucket/a.pdf"}
