"""Outlit as a dlt destination, and ``reverse_load()``: warehouse tables to Outlit ingest events.

Two ways to send rows to Outlit:

* ``reverse_load(pipeline, table="accounts", mapping=...)`` reads a table a dlt pipeline already loaded
  (or any DuckDB file / SQLAlchemy URL) and sends only new or changed rows, with a delivery ledger in the
  same warehouse. This is the exactly-once path: use it for scheduled syncs.
* ``outlit_ingest(mapping=...)`` is a ``@dlt.destination`` for piping any dlt resource straight to Outlit.
  Its events carry name-based uuids (from the row key and content), so when dlt resends a batch after a
  crash Outlit drops the repeats; it keeps no ledger, so every run sends every row it is given.
"""

from dlt_sources.outlit_ingest.destination import outlit_ingest
from dlt_sources.outlit_ingest.pipeline_load import reverse_load

__all__ = ["outlit_ingest", "reverse_load"]
