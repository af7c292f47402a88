"""OutlitPlatformActionOperator: list, get, create, update and lifecycle actions on agents, automations,
signals and destinations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from outlit_core.client.exceptions import OutlitInputError
from outlit_core.client.platform import resolve_platform_route
from outlit_provider.operators._templating import is_templated
from outlit_provider.operators.base import OutlitBaseOperator
from outlit_provider.operators.output import DEFAULT_MAX_XCOM_BYTES, ensure_small


class OutlitPlatformActionOperator(OutlitBaseOperator):
    """Run one platform action and return its ``result.data``.

    ``(resource, action)`` is checked against the published routes when the DAG is parsed: an impossible
    pair such as ``signals``/``enable`` fails the DAG import with the list of valid actions. Lists such as
    ``agent-templates``/``list`` and ``agent-actions``/``list`` are available too.

    :param resource: ``agents``, ``automations``, ``signals``, ``destinations``, ``agent-templates`` or
        ``agent-actions``.
    :param action: ``list``, ``get``, ``create``, ``update``, ``enable``, ``disable``, ``archive`` or
        ``rename`` (where the resource has that route).
    :param resource_id: id of the resource for per-resource actions (templated).
    :param body: JSON body for create, update and rename (templated).
    """

    template_fields: Sequence[str] = ("resource", "action", "resource_id", "body")
    template_fields_renderers = {"body": "json"}

    def __init__(
        self,
        *,
        resource: str,
        action: str,
        resource_id: str | None = None,
        body: dict[str, Any] | None = None,
        max_xcom_bytes: int = DEFAULT_MAX_XCOM_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = resource
        self.action = action
        self.resource_id = resource_id
        self.body = body
        self.max_xcom_bytes = max_xcom_bytes
        if not is_templated(resource) and not is_templated(action):
            full = not is_templated(resource_id) and not is_templated(body)
            self._validate(check_arguments=full)

    def _validate(self, *, check_arguments: bool) -> None:
        try:
            if check_arguments:
                resolve_platform_route(self.resource, self.action, self.resource_id, self.body)
            else:
                # id and body are rendered later; the pair itself is known now.
                from outlit_core.client.platform import PLATFORM_ROUTES

                if (self.resource, self.action) not in PLATFORM_ROUTES:
                    resolve_platform_route(self.resource, self.action)
        except OutlitInputError as exc:
            raise ValueError(f"{self.task_id}: {exc.message}") from None

    def execute(self, context: Context) -> Any:
        self._validate(check_arguments=True)
        resource_id = None if self.resource_id in (None, "") else str(self.resource_id)
        target = f"{self.resource}/{resource_id}" if resource_id else self.resource
        with self.hook.get_client() as client:  # the lookup can take a while (secrets backend)
            # A killed task must not go on to create, update or archive something.
            self._check_stop(f"resolving {self.action} on {target}; the request was not sent")
            data = client.platform_action(self.resource, self.action, resource_id, self.body)
        self.log.info("Outlit platform action %s on %s completed", self.action, target)
        return ensure_small(
            data, max_bytes=self.max_xcom_bytes, what=f"The {self.resource}/{self.action} result"
        )
