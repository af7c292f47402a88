"""One home per rule (issue 13 item 3): base URL, loopback, timestamps and name lists, defined once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from outlit_core.client import DEFAULT_BASE_URL
from outlit_core.client.urls import base_url_for_host, check_base_url, is_loopback_host, mask_url
from outlit_core.parsing import parse_name_list, parse_timestamp


def test_the_other_places_use_the_one_definition() -> None:
    from dlt_sources.outlit import settings, timestamps

    assert settings.DEFAULT_BASE_URL is DEFAULT_BASE_URL
    assert timestamps.parse_timestamp is parse_timestamp


@pytest.mark.parametrize("host", ["localhost", "api.localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)
    assert base_url_for_host(host, 8080).startswith("http://")


@pytest.mark.parametrize("host", ["app.outlit.ai", "10.0.0.1", "localhost.evil.com", "::2"])
def test_other_hosts_get_https(host: str) -> None:
    assert not is_loopback_host(host)
    assert base_url_for_host(host).startswith("https://")


def test_base_url_rules() -> None:
    assert check_base_url(None) == DEFAULT_BASE_URL
    assert check_base_url("http://127.0.0.1:9/") == "http://127.0.0.1:9"
    for bad, fragment in [
        ("ftp://x", "http(s) URL"),
        ("https://user:pw@x.io", "credentials"),
        ("http://proxy.internal", "plain http"),
    ]:
        with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            check_base_url(bad)
    assert check_base_url("http://proxy.internal", allow_insecure_http=True) == "http://proxy.internal"


def test_mask_url_hides_the_public_key() -> None:
    assert mask_url("https://a.io/api/i/v1/pk_live_abc/events") == "https://a.io/api/i/v1/pk_***/events"


def test_parse_timestamp_forms() -> None:
    bound = datetime(2026, 4, 10, 18, tzinfo=UTC)
    assert parse_timestamp("2026-04-10T18:00:00Z", field="x") == bound
    assert parse_timestamp("2026-04-10T20:00:00+02:00", field="x") == bound
    assert parse_timestamp(datetime(2026, 4, 10, 18), field="x") == bound
    assert parse_timestamp(date(2026, 4, 10), field="x") == datetime(2026, 4, 10, tzinfo=UTC)
    for bad in ("yesterday", "", None, 5):
        with pytest.raises(ValueError, match="start_date"):
            parse_timestamp(bad, field="start_date")


@pytest.mark.parametrize(
    ("value", "names"),
    [
        (["a", " b "], ["a", "b"]),
        ('["a", "b"]', ["a", "b"]),
        ("['a', 'b']", ["a", "b"]),
        ("a, b,", ["a", "b"]),
        ("acme.com", ["acme.com"]),
    ],
)
def test_name_lists(value: object, names: list[str]) -> None:
    assert parse_name_list(value, field="customers") == names


@pytest.mark.parametrize("value", [42, '["a", ', "[1, 2]", [1], ["a", ""]])
def test_bad_name_lists_name_the_field(value: object) -> None:
    with pytest.raises(ValueError, match="customers"):
        parse_name_list(value, field="customers")
