"""OutlitToolOperator: call any public Outlit tool, optionally following pagination."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from airflow.sdk import Context

from outlit_core.client.tools import get_tool, validate_tool_input
from outlit_provider.operators._templating import coerce_rendered, is_templated, parse_structure
from outlit_provider.operators.base import OutlitBaseOperator
from outlit_provider.operators.output import DEFAULT_MAX_XCOM_BYTES, ensure_small, write_json, write_jsonl


class OutlitToolOperator(OutlitBaseOperator):
    """Call an Outlit customer-intelligence tool (``outlit_list_customers``, ``outlit_get_timeline``, ...).

    The tool name and literal inputs are checked against the tool catalog when the DAG is parsed, so a typo
    fails the DAG import instead of a run; templated inputs are checked before the request is sent.

    :param tool: public tool name.
    :param tool_input: the tool's input object (templated). Rendered values are turned into the type the
        tool's input contract asks for, so ``{"limit": "{{ params.limit }}"}`` sends the number 3, not "3".
    :param paginate: follow ``pagination.nextCursor`` and return/write the items of every page.
    :param max_items: stop after this many items (with ``paginate``).
    :param output_path: write the result to this local path or object storage URL (``s3://...``) and
        return the path instead of the result. Paginated items are written as JSON Lines, one item a line;
        a single result as one JSON document.
    :param retry_writes: allow retrying a tool that changes state (``outlit_send_notification``) after an
        ambiguous failure; off by default because a retry may notify twice.
    :param max_xcom_bytes: largest result returned through XCom; bigger ones fail and ask for output_path.
    """

    template_fields: Sequence[str] = ("tool", "tool_input", "max_items", "output_path")
    template_fields_renderers = {"tool_input": "json"}

    def __init__(
        self,
        *,
        tool: str,
        tool_input: dict[str, Any] | None = None,
        paginate: bool = False,
        max_items: int | None = None,
        output_path: str | None = None,
        retry_writes: bool = False,
        max_xcom_bytes: int = DEFAULT_MAX_XCOM_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tool = tool
        self.tool_input = tool_input
        self.paginate = paginate
        self.max_items = max_items
        self.output_path = output_path
        self.retry_writes = retry_writes
        self.max_xcom_bytes = max_xcom_bytes
        # Keys whose values are templates: after rendering they are coerced through the tool's contract.
        self._templated_keys = (
            sorted(k for k, v in tool_input.items() if is_templated(v))
            if isinstance(tool_input, dict)
            else []
        )
        if not is_templated(tool):
            self._validate_tool(tool)
            if not is_templated(tool_input):
                validate_tool_input(tool, tool_input)
        if max_items is not None and not is_templated(max_items) and (not paginate or int(max_items) < 1):
            raise ValueError(
                f"{self.task_id}: max_items={max_items!r} needs paginate=True and a value >= 1 "
                "(it caps the items collected across pages)."
            )

    def _validate_tool(self, tool: str) -> None:
        spec = get_tool(tool)
        if self.paginate and not spec.paginated:
            raise ValueError(
                f"{self.task_id}: tool {tool!r} does not paginate; drop paginate=True "
                "(paginated tools return pagination.nextCursor, e.g. outlit_list_customers)."
            )

    def _rendered_input(self) -> dict[str, Any] | None:
        value: Any = self.tool_input
        if isinstance(value, str):  # the whole input was one template
            value = parse_structure(value.strip(), value)
        if not isinstance(value, dict):
            return value
        props = get_tool(self.tool).input_model.model_json_schema().get("properties", {})
        keys = set(self._templated_keys) if self._templated_keys else set(value)
        return {k: coerce_rendered(v, props.get(k)) if k in keys else v for k, v in value.items()}

    def execute(self, context: Context) -> Any:
        self._validate_tool(self.tool)
        tool_input = self._rendered_input()
        validate_tool_input(self.tool, tool_input)  # before the connection is looked up
        with self.hook.get_client() as client:
            self._check_stop(f"preparing {self.tool}; the request was not sent")
            if self.paginate:
                return self._run_paginated(client, tool_input)
            result = client.call_tool(self.tool, tool_input, retry_writes=self.retry_writes)
        spec = get_tool(self.tool)
        items = result.get(spec.items_key) if spec.items_key and isinstance(result, dict) else None
        self._summary(len(items) if isinstance(items, list) else 1, pages=1)
        if self.output_path:
            size = write_json(self.output_path, result)
            self.log.info("Wrote %s result (%d bytes) to %s", self.tool, size, self.output_path)
            return self.output_path
        return ensure_small(result, max_bytes=self.max_xcom_bytes, what=f"The {self.tool} result")

    def _summary(self, items: int, *, pages: int) -> None:
        # One line a user can grep for, whatever the result's destination (issue 15.8).
        self.log.info("Outlit tool %s: %d item(s) in %d page(s)", self.tool, items, pages)

    def _run_paginated(self, client: Any, tool_input: dict[str, Any] | None) -> Any:
        max_items = int(self.max_items) if self.max_items is not None else None
        items_key = get_tool(self.tool).items_key
        counted = pages = 0

        def items() -> Iterator[dict[str, Any]]:
            nonlocal counted, pages
            for page in client.iter_pages(self.tool, tool_input):
                pages += 1
                for item in page.get(items_key) or []:
                    if max_items is not None and counted >= max_items:
                        return
                    self._check_stop(f"{counted} item(s) of {self.tool}")
                    counted += 1
                    yield item
                if max_items is not None and counted >= max_items:
                    return

        if self.output_path:
            count = write_jsonl(self.output_path, items())
            self._summary(count, pages=pages)
            self.log.info("Wrote %d %s item(s) as JSON Lines to %s", count, self.tool, self.output_path)
            return self.output_path
        collected = list(items())
        self._summary(len(collected), pages=pages)
        return ensure_small(
            collected, max_bytes=self.max_xcom_bytes, what=f"{len(collected)} {self.tool} items"
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Input: the tool (an Outlit dataset by its name); output: the file it wrote, if any."""
        from outlit_provider.lineage import operator_lineage, outlit_namespace

        return operator_lineage(
            namespace=outlit_namespace(self.hook.get_settings().base_url),
            inputs=[self.tool],
            files=[self.output_path] if self.output_path else [],
        )
