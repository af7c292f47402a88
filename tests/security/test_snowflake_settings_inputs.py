"""Hostile settings at the one configuration lookup (dlt_sources/outlit/credentials.py): keys in the wrong
place, keys carrying header line breaks and plain-http base URLs are refused by the dlt source,
reverse_load(pipeline) and outlit_ingest alike, before anything is sent, and never echoed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dlt")

from dlt_sources.outlit import outlit_source
from dlt_sources.outlit_ingest import outlit_ingest, reverse_load
from outlit_core.client.exceptions import OutlitConfigurationError

MAPPING = {"name": "people", "event_type": "identify", "key": ["person_id"], "email": "email"}
SECRET = "ok_secret_value_0123456789"
PREFIXES = ("SOURCES__OUTLIT__", "DESTINATION__OUTLIT_INGEST__", "OUTLIT_")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    for prefix in PREFIXES:
        for name in ("API_KEY", "PUBLIC_KEY", "BASE_URL"):
            monkeypatch.delenv(prefix + name, raising=False)


def _source() -> Any:
    return outlit_source()


def _ingest() -> Any:
    return outlit_ingest(MAPPING)


def _reverse() -> Any:
    return reverse_load("unused.duckdb", table="people", mapping=MAPPING)


ALL_THREE: list[Callable[[], Any]] = [_source, _ingest, _reverse]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("call", [_ingest, _reverse])
def test_the_secret_key_given_as_the_public_key_is_refused_unechoed(
    monkeypatch: pytest.MonkeyPatch, prefix: str, call: Callable[[], Any]
) -> None:
    monkeypatch.setenv(prefix + "PUBLIC_KEY", SECRET)
    with pytest.raises(OutlitConfigurationError, match="public_key starts with 'ok_'") as error:
        call()
    assert SECRET not in str(error.value) and SECRET not in repr(error.value)


@pytest.mark.parametrize("call", ALL_THREE)
def test_a_key_carrying_a_header_line_break_is_refused(
    monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any]
) -> None:
    monkeypatch.setenv("OUTLIT_API_KEY", "ok_abc\r\nX-Injected: 1")
    monkeypatch.setenv("OUTLIT_PUBLIC_KEY", "pk_sandbox")
    with pytest.raises(OutlitConfigurationError, match="line break") as error:
        call()
        if call is _source:  # the source builds its client on the first request
            list(outlit_source().with_resources("customers"))
    assert "X-Injected" not in str(error.value)


@pytest.mark.parametrize("call", [_source, _reverse])
def test_a_plain_http_base_url_off_loopback_is_refused(
    monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any]
) -> None:
    monkeypatch.setenv("OUTLIT_API_KEY", "ok_abc")
    monkeypatch.setenv("OUTLIT_PUBLIC_KEY", "pk_sandbox")
    monkeypatch.setenv("DESTINATION__OUTLIT_INGEST__BASE_URL", "http://collector.example.com")
    with pytest.raises(OutlitConfigurationError, match="http"):
        call()
