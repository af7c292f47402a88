"""One run of a sync at a time, and warehouse problems in one line.

Two runs of the same sync at once (two Airflow runs, a retry beside a slow try) would both read the same
ledger, both send every changed row and fight over the ledger rows. The second run therefore takes a
per-sync lock in the warehouse before it writes anything, and stops with :class:`SyncBusyError` when the
lock is held:

* Postgres: a session advisory lock on a connection of its own, released when the run ends or its process
  dies (nothing stale is left behind by a crash).
* DuckDB: a file takes one writing process at a time, so another process cannot even open it (reported as
  :class:`SyncBusyError` too); inside one process a registry keyed by database file and sync does the job.
* Other databases take no lock: run one sync at a time there (docs/reverse-load.md says so).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outlit_core.client.exceptions import OutlitError, OutlitInputError

if TYPE_CHECKING:
    from outlit_core.reverse_load.warehouse import Warehouse


class SyncBusyError(OutlitError):
    """Another run of the same sync holds the warehouse; this run sent and recorded nothing."""


class WarehouseConnectionError(OutlitInputError):
    """The warehouse cannot be opened as given; the message names the problem and the fix in one line."""


_LOCAL_GUARD = threading.Lock()
_LOCAL_RUNS: dict[tuple[str, str], tuple[str, dt.datetime]] = {}


def acquire(wh: Warehouse, sync_name: str, run_id: str) -> Callable[[], None]:
    """Take the per-sync lock for ``run_id``; returns the function that releases it."""
    if wh.dialect == "postgresql":
        return _advisory(wh, sync_name)
    if wh.dialect == "duckdb":
        return _in_process(wh, sync_name, run_id)
    return lambda: None


def _busy(sync_name: str, since: Any, run_id: str | None) -> SyncBusyError:
    when = since.isoformat(sep=" ", timespec="seconds") + " UTC" if isinstance(since, dt.datetime) else "?"
    which = f" (run {run_id})" if run_id else ""
    return SyncBusyError(
        f"sync {sync_name!r} is running since {when}{which}; this run sent nothing. "
        "Let that run finish (or stop it) and run again: a rerun sends exactly what is not yet recorded"
    )


def _advisory(wh: Warehouse, sync_name: str) -> Callable[[], None]:
    digest = hashlib.sha256(f"outlit:{wh.table(sync_name)}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    con = wh.connect_raw()
    cur = con.cursor()
    cur.execute(*wh.sql("SELECT pg_try_advisory_lock(?)", [key]))
    (locked,) = cur.fetchone()
    con.commit()  # the lock is held by the session, not by this transaction
    if not locked:
        con.close()
        raise _busy(sync_name, *wh.running_since(sync_name))

    def release() -> None:
        with suppress(Exception):
            con.cursor().execute(*wh.sql("SELECT pg_advisory_unlock(?)", [key]))
            con.commit()
        with suppress(Exception):
            con.close()

    return release


def _in_process(wh: Warehouse, sync_name: str, run_id: str) -> Callable[[], None]:
    where = wh.database_identity()
    slot = (where, sync_name)
    with _LOCAL_GUARD:
        holder = _LOCAL_RUNS.get(slot)
        if holder is not None:
            raise _busy(sync_name, holder[1], holder[0])
        _LOCAL_RUNS[slot] = (run_id, dt.datetime.now(dt.UTC).replace(tzinfo=None))

    def release() -> None:
        with _LOCAL_GUARD:
            if _LOCAL_RUNS.get(slot, ("",))[0] == run_id:
                del _LOCAL_RUNS[slot]

    return release


# --- opening a DuckDB file: one-line errors instead of tracebacks ----------------------------------------

_SQLITE_MAGIC = b"SQLite format 3\x00"
# Never let DuckDB fetch or load an extension on its own: opening a file must not reach the network.
DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def open_duckdb_file(path: str) -> Any:
    import duckdb

    file = Path(path)
    if path != ":memory:":
        if file.is_dir():
            raise WarehouseConnectionError(
                f"--from {path!r} is a directory; give a DuckDB file (warehouse.duckdb) or a SQLAlchemy URL"
            )
        if not file.exists():
            raise WarehouseConnectionError(
                f"DuckDB file {path!r} does not exist; check the path (a new file is never created here)"
            )
        with file.open("rb") as fh:
            head = fh.read(16)
        if head == _SQLITE_MAGIC:
            raise WarehouseConnectionError(
                f"{path!r} is a SQLite database, not a DuckDB file; pass it as sqlite:///{file.resolve()}"
            )
    try:
        return duckdb.connect(path, config=dict(DUCKDB_CONFIG))
    except duckdb.Error as exc:
        text = str(exc)
        holder = re.search(r"\(PID (\d+)\)", text)
        if "lock" in text.lower() and holder:
            raise SyncBusyError(
                f"DuckDB file {path!r} is open for writing in another process (PID {holder.group(1)}), "
                "e.g. another run of this sync or the pipeline that loads it; a DuckDB file takes one "
                "writing process at a time: run again when it has finished"
            ) from None
        first = text.splitlines()[0] if text else type(exc).__name__
        raise WarehouseConnectionError(
            f"cannot open {path!r} as a DuckDB file: {first}; give a DuckDB database file or a SQLAlchemy URL"
        ) from None


_HINTS = (
    ("connection refused", "is the server running and listening on that host and port?"),
    ("could not translate host name", "check the host name in the URL"),
    ("name or service not known", "check the host name in the URL"),
    ("timeout", "is the host reachable from here (firewall, VPN)?"),
    ("does not exist", "create it, or fix the name in the URL"),
    ("password authentication failed", "fix the user or password in the URL"),
    ("no password supplied", "add the password to the URL or to ~/.pgpass"),
    ("unable to open database file", "check the file path and its directory"),
)


def connection_error(exc: BaseException, where: str) -> WarehouseConnectionError:
    """A driver's connect failure as one line: what was contacted, what went wrong, what to try."""
    from outlit_core.reverse_load.warehouse import redact_url_password

    text = str(getattr(exc, "orig", None) or exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = redact_url_password(lines[0] if lines else type(exc).__name__)
    first = re.sub(r"^\(?[\w.]+\)?\s*", "", first) if first.startswith("(") else first
    hint = next((h for needle, h in _HINTS if needle in text.lower()), "check the URL given as --from/source")
    return WarehouseConnectionError(f"cannot connect to the warehouse {where}: {first}; {hint}")
