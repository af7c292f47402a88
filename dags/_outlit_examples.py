"""What the example DAGs in this folder share, kept in one place: start date, catchup and tags.

The example files import it as a sibling module (Airflow puts the DAG folder on ``sys.path``). Copying one
example into your own project? Either copy this file beside it or write the few arguments out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# A fixed past date: Airflow schedules from the first interval after it; catchup stays off so a new
# deployment runs only the latest interval instead of every day since.
START_DATE = datetime(2026, 1, 1)


def example_dag_args(*tags: str, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for ``DAG(...)``: shared defaults, tagged ``outlit``, ``example`` and ``*tags``."""
    return {"start_date": START_DATE, "catchup": False, "tags": ["outlit", "example", *tags]} | overrides
