"""OpenLineage for the Outlit operators: what each one read and wrote, as the OpenLineage provider's
``get_openlineage_facets_on_complete`` hook expects (the way the dbt Cloud provider reports its runs).

Only imported when the OpenLineage provider calls an operator's hook, so it needs
``apache-airflow-providers-openlineage`` then and not otherwise. Datasets on Outlit's side live in the
namespace ``outlit://<api host>``: a tool by its name (``outlit_list_customers``), a SQL view by its name
(``customers``), ingested events as ``ingest/<sync or task name>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

DEFAULT_HOST = "app.outlit.ai"


def outlit_namespace(base_url: str | None) -> str:
    return f"outlit://{urlsplit(base_url).netloc if base_url else DEFAULT_HOST}"


def file_dataset(path: str) -> Any:
    """An ``output_path`` (local path or object storage URL) as an OpenLineage dataset."""
    from airflow.providers.common.compat.openlineage.facet import OutputDataset

    parts = urlsplit(path)
    if parts.scheme and parts.scheme != "file":
        return OutputDataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))
    return OutputDataset(namespace="file", name=parts.path if parts.scheme else path)


def sql_tables(sql: str) -> list[str]:
    """The tables a read-only query reads (CTE names excluded), through sqlglot as the SQL guard parses."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql)
    except sqlglot.errors.ParseError:
        return []
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}
    return sorted(names)


def operator_lineage(
    *,
    namespace: str,
    inputs: Iterable[str] = (),
    outputs: Iterable[str] = (),
    files: Iterable[str] = (),
    sql: str | None = None,
    output_rows: int | None = None,
    input_namespace: str | None = None,
) -> Any:
    """An ``OperatorLineage`` with Outlit datasets (and files) as inputs and outputs."""
    from airflow.providers.common.compat.openlineage.facet import (
        InputDataset,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
        SQLJobFacet,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage

    # typed loosely: OutputDataset wants dict[str, OutputDatasetFacet] and dict is invariant
    stats: dict[str, Any] = (
        {"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=output_rows)}
        if output_rows is not None
        else {}
    )
    return OperatorLineage(
        inputs=[InputDataset(namespace=input_namespace or namespace, name=n) for n in inputs],
        outputs=[
            *(OutputDataset(namespace=namespace, name=n, outputFacets=stats) for n in outputs),
            *(file_dataset(f) for f in files),
        ],
        job_facets={"sql": SQLJobFacet(query=sql)} if sql else {},
    )
