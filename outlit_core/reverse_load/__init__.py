"""Reverse load: warehouse rows -> Outlit ingest events, each delivered exactly once.

One engine shared by the Airflow operator, the dlt entry point and the CLI. It never imports Airflow.
"""

from outlit_core.reverse_load.mapping import EventMapping, MappingError, load_mapping
from outlit_core.reverse_load.runner import ReverseLoadError, SyncResult, run_reverse_load
from outlit_core.reverse_load.warehouse import (
    LEDGER_TABLE,
    REJECTED_TABLE,
    RUNS_TABLE,
    SUPPORTED_DIALECTS,
    UnsupportedDialectError,
    Warehouse,
)

__all__ = [
    "LEDGER_TABLE",
    "REJECTED_TABLE",
    "RUNS_TABLE",
    "SUPPORTED_DIALECTS",
    "EventMapping",
    "MappingError",
    "ReverseLoadError",
    "SyncResult",
    "UnsupportedDialectError",
    "Warehouse",
    "load_mapping",
    "run_reverse_load",
]
