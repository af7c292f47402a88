"""Connection -> client settings: every accepted form, every rejected field, and the key kept out of text."""

from __future__ import annotations

import asyncio
import json

import pytest

from outlit_provider.hooks.connection_settings import (
    CONN_FIELDS,
    KNOWN_EXTRAS,
    OutlitConnectionError,
    settings_from_connection,
)

KEY = "ok_test_secret_key_123456"


class Conn:
    def __init__(self, password=KEY, host=None, port=None, conn_id="outlit_default"):
        self.conn_id = conn_id
        self.password = password
        self.host = host
        self.port = port
        self.schema = None


def test_defaults_and_key_not_in_repr():
    settings = settings_from_connection(Conn(), {})
    assert settings.api_key == KEY
    assert settings.base_url is None and settings.timeout is None and settings.max_retries is None
    assert KEY not in repr(settings)
    kwargs = settings.client_kwargs()
    assert kwargs["api_key"] == KEY and "timeout" not in kwargs


def test_extras_are_parsed_from_strings_as_uri_query_params_give_them():
    settings = settings_from_connection(
        Conn(),
        {"public_key": "pk_1", "base_url": "https://x.example/", "timeout": "12.5", "max_retries": "3"},
    )
    assert (settings.public_key, settings.base_url, settings.timeout, settings.max_retries) == (
        "pk_1",
        "https://x.example",
        12.5,
        3,
    )


def test_prefixed_extras_from_older_forms_are_read():
    settings = settings_from_connection(Conn(), {"extra__outlit__public_key": "pk_2"})
    assert settings.public_key == "pk_2"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("app.outlit.ai", None, "https://app.outlit.ai"),
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        # an IPv6 loopback sandbox, as Airflow parses outlit://:KEY@[::1]:8765
        ("::1", 8765, "http://[::1]:8765"),
        ("[::1]", None, "http://[::1]"),
    ],
)
def test_host_becomes_base_url(host, port, expected):
    assert settings_from_connection(Conn(host=host, port=port), {}).base_url == expected


def test_missing_key_names_the_field_and_the_fix():
    with pytest.raises(OutlitConnectionError, match="Password field") as info:
        settings_from_connection(Conn(password=None, conn_id="my_outlit"), {})
    assert "AIRFLOW_CONN_MY_OUTLIT" in str(info.value)


@pytest.mark.parametrize(
    ("extras", "field"),
    [
        ({"timeout": "soon"}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": "2.5"}, "max_retries"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"allow_insecure_http": "maybe"}, "allow_insecure_http"),
        ({"api_key": KEY}, "api_key"),
    ],
)
def test_bad_extras_are_refused_by_name(extras, field):
    with pytest.raises(OutlitConnectionError, match=field) as info:
        settings_from_connection(Conn(), extras)
    assert KEY not in str(info.value)


def test_ui_fields_cover_every_known_extra():
    assert set(CONN_FIELDS) == set(KNOWN_EXTRAS)


def test_hook_reads_json_and_uri_env_forms(monkeypatch):
    from outlit_provider.hooks.outlit import OutlitHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_JSON",
        json.dumps({"conn_type": "outlit", "password": KEY, "extra": {"base_url": "http://127.0.0.1:1"}}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_URI",
        f"outlit://:{KEY}@?public_key=pk_9&timeout=5&base_url=http%3A%2F%2F127.0.0.1%3A2",
    )
    json_settings = OutlitHook("outlit_json").get_settings()
    uri_settings = OutlitHook("outlit_uri", max_retries=7).get_settings()
    assert json_settings.base_url == "http://127.0.0.1:1" and json_settings.api_key == KEY
    assert (uri_settings.base_url, uri_settings.public_key, uri_settings.timeout) == (
        "http://127.0.0.1:2",
        "pk_9",
        5.0,
    )
    assert uri_settings.max_retries == 7  # the hook argument overrides the connection
    assert KEY not in repr(OutlitHook("outlit_json"))


def test_async_lookup_matches_sync(monkeypatch):
    from outlit_provider.hooks.outlit import OutlitHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_DEFAULT",
        json.dumps({"conn_type": "outlit", "password": KEY, "extra": {"timeout": 9}}),
    )
    assert asyncio.run(OutlitHook().aget_settings()) == OutlitHook().get_settings()


def test_key_is_registered_with_the_secrets_masker(monkeypatch):
    from airflow.sdk._shared.secrets_masker import redact

    from outlit_provider.hooks.outlit import OutlitHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_DEFAULT", json.dumps({"conn_type": "outlit", "password": KEY + "_masked"})
    )
    OutlitHook().get_settings()
    assert KEY + "_masked" not in str(redact(f"key is {KEY}_masked"))


@pytest.mark.parametrize(
    ("host", "port", "extras", "expected"),
    [
        # issue 15.5: a JSON connection with a whole URL in host failed with "Invalid IPv6 URL"
        ("http://127.0.0.1:18765", None, {}, "http://127.0.0.1:18765"),
        ("https://proxy.example.com/outlit/", None, {}, "https://proxy.example.com/outlit"),
        ("http://10.0.0.5", 8080, {"allow_insecure_http": "true"}, "http://10.0.0.5:8080"),
        # a URI connection asking for plain http to a non-loopback host was silently made https://
        ("proxy.internal", 8080, {"allow_insecure_http": "true"}, "http://proxy.internal:8080"),
        ("proxy.internal", 8443, {}, "https://proxy.internal:8443"),
    ],
)
def test_a_scheme_in_host_is_honoured_never_changed(host, port, extras, expected):
    settings = settings_from_connection(Conn(host=host, port=port), extras)
    assert settings.base_url == expected


def test_plain_http_host_without_permission_is_refused_by_the_client(monkeypatch):
    from outlit_provider.hooks.outlit import OutlitHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_PLAIN",
        json.dumps({"conn_type": "outlit", "password": KEY, "host": "http://proxy.example.com"}),
    )
    assert OutlitHook("outlit_plain").get_settings().base_url == "http://proxy.example.com"
    with pytest.raises(ValueError, match="allow_insecure_http"):
        OutlitHook("outlit_plain").get_client()


def test_uri_with_allow_insecure_http_keeps_http(monkeypatch):
    from outlit_provider.hooks.outlit import OutlitHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_OUTLIT_PROXY", f"outlit://:{KEY}@proxy.internal:8080?allow_insecure_http=true"
    )
    assert OutlitHook("outlit_proxy").get_settings().base_url == "http://proxy.internal:8080"


def test_source_kwargs_carry_every_connection_setting_the_dlt_source_takes():
    """The example DAGs build the dlt source from the connection; a proxy needing http must reach it."""
    import inspect

    from dlt_sources.outlit import outlit_source

    extras = {"allow_insecure_http": "true", "timeout": "5", "max_retries": "2"}
    settings = settings_from_connection(Conn(host="proxy.internal", port=8080), extras)
    kwargs = settings.source_kwargs()
    assert kwargs == {
        "api_key": KEY,
        "base_url": "http://proxy.internal:8080",
        "allow_insecure_http": True,
        "timeout": 5.0,
        "max_retries": 2,
    }
    assert set(kwargs) <= set(inspect.signature(outlit_source).parameters)
    # no base_url in the connection: the source keeps its own default rather than getting None
    assert "base_url" not in settings_from_connection(Conn(), {}).source_kwargs()
    source = outlit_source(**kwargs)
    assert "customers" in source.resources
