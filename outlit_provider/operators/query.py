"""OutlitQueryOperator: read-only SQL against Outlit's customer-intelligence views."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

from airflow.sdk import Context

from outlit_provider.operators._templating import check_literal_sql, is_templated
from outlit_provider.operators.base import OutlitBaseOperator
from outlit_provider.operators.output import DEFAULT_MAX_XCOM_BYTES, ensure_small, open_output, write_json

OutputFormat = Literal["records", "parquet", "csv"]
_FORMATS = ("records", "parquet", "csv")


class OutlitQueryOperator(OutlitBaseOperator):
    """Run one read-only SELECT through the ``outlit_query`` tool.

    The SQL is checked by the client's read-only guard before anything is sent: DDL, DML, multiple
    statements and the like fail the task without spending an API call. The task log says how many rows
    came back and whether Outlit truncated the result at ``limit``.

    :param sql: the query, or a path ending in ``.sql`` (rendered with Jinja like any template file).
    :param limit: row limit passed to Outlit (its maximum applies when omitted).
    :param output_format: ``records`` returns rows as a list of dicts (or writes JSON to ``output_path``);
        ``parquet`` and ``csv`` write a file to ``output_path`` and return the path.
    :param output_path: local path or object storage URL; required for parquet and csv.
    :param fail_on_truncation: fail instead of warning when Outlit truncated the result.
    :param max_xcom_bytes: largest records result returned through XCom.
    """

    template_fields: Sequence[str] = ("sql", "limit", "output_path")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql"}

    def __init__(
        self,
        *,
        sql: str,
        limit: int | None = None,
        output_format: OutputFormat = "records",
        output_path: str | None = None,
        fail_on_truncation: bool = False,
        max_xcom_bytes: int = DEFAULT_MAX_XCOM_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if output_format not in _FORMATS:
            raise ValueError(
                f"{self.task_id}: output_format={output_format!r} must be one of {list(_FORMATS)}."
            )
        if output_format != "records" and not output_path:
            raise ValueError(
                f"{self.task_id}: output_format={output_format!r} writes a file, so output_path is required "
                "(a local path or an object storage URL such as s3://bucket/result.parquet)."
            )
        if limit is not None and not is_templated(limit) and int(limit) < 1:
            raise ValueError(f"{self.task_id}: limit={limit!r} must be >= 1 (or None for Outlit's default).")
        check_literal_sql(self.task_id, sql)
        self.sql = sql
        self.limit = limit
        self.output_format = output_format
        self.output_path = output_path
        self.fail_on_truncation = fail_on_truncation
        self.max_xcom_bytes = max_xcom_bytes

    def execute(self, context: Context) -> Any:
        from outlit_core.client.sql_guard import check_read_only_sql

        sql = check_read_only_sql(self.sql)  # refuse before the connection is even looked up
        limit = int(self.limit) if self.limit not in (None, "") else None
        with self.hook.get_client() as client:  # the lookup can take a while (secrets backend)
            self._check_stop("checking the SQL; the query was not sent")
            result = client.query(sql, limit=limit)
        self._ran_sql = sql
        self.log.info(
            "Outlit returned %d row(s) in %s ms; truncated=%s",
            result.rows_returned,
            result.execution_time_ms,
            result.truncated,
        )
        if result.truncated:
            message = (
                f"Outlit truncated the result at {result.rows_returned} row(s); raise `limit` or narrow the "
                "query (ORDER BY + WHERE on a key) and page through it."
            )
            if self.fail_on_truncation:
                raise ValueError(message)
            self.log.warning(message)

        rows = result.rows
        if self.output_format == "records":
            if self.output_path:
                write_json(self.output_path, rows)
                return self.output_path
            return ensure_small(
                rows, max_bytes=self.max_xcom_bytes, what=f"The query result ({len(rows)} rows)"
            )

        import pandas as pd

        frame = pd.DataFrame.from_records(rows)
        assert self.output_path  # checked in __init__
        if self.output_format == "parquet":
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            data = buffer.getvalue()
        else:
            data = frame.to_csv(index=False).encode()
        with open_output(self.output_path) as handle:
            handle.write(data)
        self.log.info("Wrote %d row(s) as %s to %s", len(frame), self.output_format, self.output_path)
        return self.output_path

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs: the Outlit views the query reads; output: the file it wrote, if any; job: the SQL."""
        from outlit_provider.lineage import operator_lineage, outlit_namespace, sql_tables

        sql = getattr(self, "_ran_sql", None) or self.sql
        return operator_lineage(
            namespace=outlit_namespace(self.hook.get_settings().base_url),
            inputs=sql_tables(sql),
            files=[self.output_path] if self.output_path else [],
            sql=sql,
        )
