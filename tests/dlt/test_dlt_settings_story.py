"""One configuration story: the dlt source, reverse_load(pipeline) and the outlit_ingest destination find the
Outlit keys and base URL the same way (dlt_sources/outlit/credentials.py, docs/dlt.md "Settings")."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.common.configuration.container import Container
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
from dlt_helpers import duckdb_pipeline, rows

from dlt_sources.outlit import outlit_source
from dlt_sources.outlit.credentials import places, resolve_outlit_settings
from dlt_sources.outlit_ingest import outlit_ingest, reverse_load
from outlit_core.client.exceptions import OutlitConfigurationError

NAMES = ("API_KEY", "PUBLIC_KEY", "BASE_URL")
PEOPLE = [{"person_id": f"p{i}", "email": f"user{i}@example.com", "account": "acme.com"} for i in range(3)]
MAPPING = {"name": "people", "event_type": "identify", "key": ["person_id"], "email": "email",
           "customer_id": "account"}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_outlit_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        for prefix in ("SOURCES__OUTLIT__", "DESTINATION__OUTLIT_INGEST__", "OUTLIT_"):
            monkeypatch.delenv(prefix + name, raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A dlt project folder (.dlt/secrets.toml, .dlt/config.toml) that dlt reads for this test only."""
    folder = tmp_path / "project"
    (folder / ".dlt").mkdir(parents=True)
    run_context = Container()[PluggableRunContext]
    previous = run_context.context.run_dir
    run_context.reload(str(folder))
    try:
        yield folder / ".dlt"
    finally:
        shutil.rmtree(folder / ".dlt")
        run_context.reload(previous)


def _reload() -> None:
    run_context = Container()[PluggableRunContext]
    run_context.reload(run_context.context.run_dir)


@pytest.mark.parametrize(
    ("places_set", "winner"),
    [
        (("argument", "source", "destination", "outlit"), "argument"),
        (("source", "destination", "outlit"), "source"),
        (("destination", "outlit"), "destination"),
        (("outlit",), "outlit"),
    ],
)
def test_one_precedence_argument_then_dlt_sections_then_outlit_variables(
    monkeypatch: pytest.MonkeyPatch, places_set: tuple[str, ...], winner: str
) -> None:
    env = {"source": "SOURCES__OUTLIT__", "destination": "DESTINATION__OUTLIT_INGEST__", "outlit": "OUTLIT_"}
    for place in places_set:
        if place in env:
            monkeypatch.setenv(env[place] + "API_KEY", f"ok_{place}")
            monkeypatch.setenv(env[place] + "PUBLIC_KEY", f"pk_{place}")
    argument = "ok_argument" if "argument" in places_set else None
    found = resolve_outlit_settings(api_key=argument, require=("api_key", "public_key"))
    assert found["api_key"] == f"ok_{winner}"
    assert found["public_key"] == f"pk_{'source' if winner == 'argument' else winner}"
    assert "base_url" not in found  # found nowhere: the client keeps the public API


def test_secrets_and_config_toml_sections_are_read(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "secrets.toml").write_text(
        '[sources.outlit]\napi_key = "ok_toml"\n[destination.outlit_ingest]\npublic_key = "pk_toml"\n'
    )
    (project / "config.toml").write_text('[destination.outlit_ingest]\nbase_url = "http://127.0.0.1:9"\n')
    _reload()
    monkeypatch.setenv("OUTLIT_API_KEY", "ok_env")  # below the dlt sections
    found = resolve_outlit_settings()
    assert found == {"api_key": "ok_toml", "public_key": "pk_toml", "base_url": "http://127.0.0.1:9"}
    monkeypatch.setenv("SOURCES__OUTLIT__API_KEY", "ok_dlt_env")  # dlt's own order: its env vars first
    assert resolve_outlit_settings()["api_key"] == "ok_dlt_env"


def test_a_blank_value_counts_as_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__OUTLIT__API_KEY", "  ")
    monkeypatch.setenv("OUTLIT_API_KEY", "ok_env")
    assert resolve_outlit_settings(api_key="")["api_key"] == "ok_env"


def test_a_missing_key_names_every_place_looked_up() -> None:
    expected = [
        "the api_key argument",
        "SOURCES__OUTLIT__API_KEY or api_key under [sources.outlit] in .dlt/secrets.toml",
        "DESTINATION__OUTLIT_INGEST__API_KEY or api_key under [destination.outlit_ingest] in "
        ".dlt/secrets.toml",
        "OUTLIT_API_KEY",
    ]
    assert places("api_key") == expected
    with pytest.raises(OutlitConfigurationError) as source_error:
        outlit_source()
    assert all(place in str(source_error.value) for place in expected)
    for call in (
        lambda: outlit_ingest(MAPPING),
        lambda: reverse_load("unused.duckdb", table="t", mapping=MAPPING),
    ):
        with pytest.raises(OutlitConfigurationError) as error:
            call()
        message = str(error.value)
        assert message.startswith("no Outlit public key")
        assert all(place in message for place in places("public_key")), message


@pytest.mark.parametrize("where", ["OUTLIT_API_KEY", "SOURCES__OUTLIT__API_KEY"])
def test_a_public_key_in_the_api_key_place_is_refused_by_all_three(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.setenv(where, "pk_public")
    monkeypatch.setenv("OUTLIT_PUBLIC_KEY", "pk_public")
    for call in (
        lambda: outlit_source(),
        lambda: outlit_ingest(MAPPING),
        lambda: reverse_load("unused.duckdb", table="t", mapping=MAPPING),
    ):
        with pytest.raises(OutlitConfigurationError, match="api_key starts with 'pk_'") as error:
            call()
        assert "pk_public" not in str(error.value)  # the value itself is never echoed


@pytest.mark.parametrize(
    "variables",
    [
        # the client's variables alone
        {"OUTLIT_API_KEY": "api_key", "OUTLIT_PUBLIC_KEY": "public_key", "OUTLIT_BASE_URL": "base_url"},
        # the dlt sections alone; the destination's base URL is below the source's, so it is not used
        {
            "SOURCES__OUTLIT__API_KEY": "api_key",
            "SOURCES__OUTLIT__BASE_URL": "base_url",
            "DESTINATION__OUTLIT_INGEST__PUBLIC_KEY": "public_key",
            "DESTINATION__OUTLIT_INGEST__BASE_URL": "http://127.0.0.1:9",
        },
    ],
    ids=["outlit_variables", "dlt_sections"],
)
def test_all_three_run_on_one_kind_of_setting_alone(
    fresh_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    for variable, attribute in variables.items():
        monkeypatch.setenv(variable, getattr(fresh_sandbox, attribute, attribute))
    pipeline = duckdb_pipeline(tmp_path)
    pipeline.run(outlit_source().with_resources("customers"))
    assert len(rows(pipeline, "customers", "id")) == len(fresh_sandbox.dataset()["customers"])

    stored = fresh_sandbox.stats()["ingest"]["stored"]
    pipeline.run(PEOPLE, table_name="people")
    assert reverse_load(pipeline, table="people", mapping=MAPPING).sent == len(PEOPLE)
    sender = dlt.pipeline("settings_ingest", destination=outlit_ingest(MAPPING), pipelines_dir=str(tmp_path))
    sender.run(PEOPLE, table_name="people")
    assert fresh_sandbox.stats()["ingest"]["stored"] == stored + 2 * len(PEOPLE)
