"""The ``outlit`` connection form as Airflow's UI receives it (issue 12.6): the api-server's hook metadata
service, which builds the form from the provider info, labels the key, hides unused fields and renders each
extra as a typed widget. ``airflow connections test`` runs in tests/airflow/deployment."""

from __future__ import annotations


def _outlit_meta():
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "outlit"]
    return meta.model_dump()


def test_form_labels_the_key_and_hides_what_the_connection_does_not_use():
    meta = _outlit_meta()
    assert meta["hook_name"] == "Outlit"
    standard = meta["standard_fields"]
    assert standard["password"] == {"hidden": False, "title": "API key", "placeholder": "ok_..."}
    for name in ("login", "url_schema", "port", "host"):
        assert standard[name]["hidden"] is True, name


def test_every_extra_is_a_typed_widget_with_a_label_and_help():
    extras = _outlit_meta()["extra_fields"]
    kinds = {name: field["schema"]["type"][0] for name, field in extras.items()}
    assert kinds == {
        "public_key": "string",
        "base_url": "string",
        "timeout": "number",
        "max_retries": "integer",
        "allow_insecure_http": "boolean",
    }
    assert all(field["schema"]["title"] and field["description"] for field in extras.values())
    assert extras["allow_insecure_http"]["value"] is False and extras["timeout"]["value"] == 30
