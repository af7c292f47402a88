"""Where large Outlit results go instead of XCom: a local file or any ``ObjectStoragePath`` URL.

``/data/out.json`` and ``file:///data/out.json`` are local; ``s3://bucket/key`` (with ``conn_id`` in the
URL's user part or the object-storage defaults) is written through Airflow's object storage layer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# XCom lives in the metadata database: keep values small by default and say how to go bigger.
DEFAULT_MAX_XCOM_BYTES = 256 * 1024


@contextmanager
def open_output(path: str) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary writing, creating parent directories; object storage for URLs."""
    if "://" in path:
        from airflow.sdk import ObjectStoragePath

        target = ObjectStoragePath(path)
        if target.protocol in ("file", "local"):
            target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            yield handle
    else:
        # Write beside the target and rename at the end: a crash or kill mid-export never leaves a
        # half-written file where a downstream task (or a retry's reader) would take it for complete.
        local = Path(path).expanduser()
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(f".{local.name}.partial")
        try:
            with partial.open("wb") as handle:
                yield handle
            os.replace(partial, local)
        finally:
            partial.unlink(missing_ok=True)


def _json_default(value: Any) -> Any:
    # Timestamps and decimals come back from query rows; everything else is a bug worth surfacing.
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def write_json(path: str, value: Any) -> int:
    """Write one JSON document; returns bytes written."""
    data = json.dumps(value, default=_json_default, ensure_ascii=False).encode()
    with open_output(path) as handle:
        handle.write(data)
    return len(data)


def write_jsonl(path: str, rows: Iterable[Any]) -> int:
    """Stream rows as JSON Lines without holding them all in memory; returns the row count."""
    count = 0
    with open_output(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, default=_json_default, ensure_ascii=False).encode() + b"\n")
            count += 1
    return count


def ensure_small(value: Any, *, max_bytes: int, what: str) -> Any:
    """Return ``value`` if its JSON form fits in ``max_bytes``, else fail saying how to write it to a file."""
    size = len(json.dumps(value, default=_json_default).encode())
    if size > max_bytes:
        raise ValueError(
            f"{what} is {size:,} bytes of JSON, over max_xcom_bytes={max_bytes:,}. Set output_path "
            "(a local path or an object storage URL such as s3://bucket/key.json) to write it to a file and "
            "get the path in XCom, or raise max_xcom_bytes if your XCom backend stores large values well."
        )
    return value
