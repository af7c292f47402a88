"""One way to find the Outlit key(s) and base URL, shared by the dlt source, ``reverse_load(pipeline)`` and
the ``outlit_ingest`` destination.

Precedence, first found wins (docs/dlt.md, "Settings"):

1. an argument passed in code;
2. dlt config / secrets under ``[sources.outlit]``: dlt's own providers, so the environment variable
   ``SOURCES__OUTLIT__<NAME>``, then ``.dlt/secrets.toml``, then ``.dlt/config.toml``;
3. the same under ``[destination.outlit_ingest]`` (``DESTINATION__OUTLIT_INGEST__<NAME>``, ...);
4. the client's variables ``OUTLIT_API_KEY``, ``OUTLIT_PUBLIC_KEY``, ``OUTLIT_BASE_URL``;
5. for ``base_url`` only: the public Outlit API.

A blank value counts as not set. A key given in the other key's place (``pk_...`` as the API key,
``ok_...`` as the public key) is refused here, before anything is sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

import dlt

from outlit_core.client.config import ENV_API_KEY, ENV_BASE_URL, ENV_PUBLIC_KEY, check_key_shapes
from outlit_core.client.exceptions import OutlitConfigurationError

Setting = Literal["api_key", "public_key", "base_url"]

#: dlt sections searched, in this order, by every consumer
SECTIONS = ("sources.outlit", "destination.outlit_ingest")
ENV_NAMES: dict[Setting, str] = {
    "api_key": ENV_API_KEY,
    "public_key": ENV_PUBLIC_KEY,
    "base_url": ENV_BASE_URL,
}
_WHAT: dict[Setting, str] = {
    "api_key": "Outlit API key (ok_..., for the platform API)",
    "public_key": "Outlit public key (pk_..., for sending events)",
    "base_url": "Outlit base URL",
}


def places(name: Setting) -> list[str]:
    """Where ``name`` is looked up, in order, as a user would write each place."""
    found = [f"the {name} argument"]
    for section in SECTIONS:
        env = "__".join([*section.split("."), name]).upper()
        file = ".dlt/config.toml" if name == "base_url" else ".dlt/secrets.toml"
        found.append(f"{env} or {name} under [{section}] in {file}")
    found.append(ENV_NAMES[name])
    return found


def _lookup(name: Setting, environ: Mapping[str, str]) -> str | None:
    for section in SECTIONS:
        value: object = dlt.config.get(f"{section}.{name}")
        if value is not None and str(value).strip():
            return str(value)
    variable = environ.get(ENV_NAMES[name])
    return variable if variable and variable.strip() else None


def resolve_outlit_settings(
    *,
    api_key: str | None = None,
    public_key: str | None = None,
    base_url: str | None = None,
    require: tuple[Setting, ...] = (),
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The settings found for each name (arguments first, see the module's precedence), as keyword
    arguments for ``OutlitClient.from_env(**settings)``; names found nowhere are left out, so the client
    keeps its default. A name in ``require`` that is found nowhere raises an error listing every place
    looked up."""
    env = os.environ if environ is None else environ
    given: dict[Setting, str | None] = {"api_key": api_key, "public_key": public_key, "base_url": base_url}
    settings: dict[str, str] = {}
    for name, value in given.items():
        if value is not None and not isinstance(value, str):
            value = str(value)  # a dlt TSecretStrValue
        found = value if value is not None and value.strip() else _lookup(name, env)
        if found is not None:
            settings[name] = found
    for name in require:
        if name not in settings:
            raise OutlitConfigurationError(
                f"no {_WHAT[name]}: looked up, in this order, {'; '.join(places(name))}. Set one of them."
            )
    check_key_shapes(settings.get("api_key"), settings.get("public_key"))
    return settings
