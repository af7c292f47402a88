"""The warehouse layer on its own: ledger upserts on every dialect path, paramstyles, bad sources."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from outlit_provider.reverse_load.warehouse import DeadLetter, LedgerEntry, Warehouse, quote_table


@pytest.mark.parametrize("dialect", ["sqlite", "generic"])  # generic: the delete-then-insert fallback
def test_ledger_upsert_and_lookup(tmp_path: Path, dialect: str) -> None:
    path = tmp_path / "w.sqlite"
    wh = Warehouse(lambda: sqlite3.connect(path), dialect=dialect)
    wh.ensure_tables()
    first = [LedgerEntry(f'["k{i}"]', f"h{i}", f"u{i}", "delivered") for i in range(700)]
    wh.record_batch(sync_name="s", run_id="r1", batch_id="b1", entries=first, dead_letters=[])
    changed = [
        LedgerEntry('["k1"]', "h1b", "u1b", "delivered"),
        LedgerEntry('["k1"]', "h1c", "u1c", "rejected"),
    ]
    dead = [DeadLetter('["k1"]', "api", "bad email", "email", "u1c", '{"k": 1}')]
    wh.record_batch(sync_name="s", run_id="r2", batch_id="b2", entries=changed, dead_letters=dead)

    keys = [f'["k{i}"]' for i in range(702)]
    found = wh.ledger_lookup("s", keys)
    assert (
        len(found) == 700
        and found['["k1"]'] == ("h1c", "u1c", "rejected")
        and found['["k0"]'][:2] == ("h0", "u0")
    )
    assert wh.ledger_lookup("other sync", keys) == {}
    assert wh.query("SELECT reason, field_path FROM _outlit_rejected") == [("bad email", "email")]
    wh.close()


def test_paramstyles() -> None:
    def rewrite(style: str) -> tuple[str, object]:
        wh = Warehouse.__new__(Warehouse)
        wh._paramstyle = style
        return wh._sql("a = ? AND b IN (?, ?)", [1, 2, 3])

    assert rewrite("qmark") == ("a = ? AND b IN (?, ?)", [1, 2, 3])
    assert rewrite("pyformat") == ("a = %s AND b IN (%s, %s)", [1, 2, 3])
    assert rewrite("numeric") == ("a = :1 AND b IN (:2, :3)", [1, 2, 3])
    assert rewrite("named") == ("a = :p0 AND b IN (:p1, :p2)", {"p0": 1, "p1": 2, "p2": 3})


@pytest.mark.parametrize("bad", ["accounts; DROP TABLE x", "a b", "'x'", "a.b.c.d", ""])
def test_table_names_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="not a plain"):
        quote_table(bad)
    assert quote_table("analytics.accounts") == "analytics.accounts"


def test_bad_sources_say_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Warehouse.open(tmp_path / "missing.duckdb")
    with pytest.raises(TypeError, match="DuckDB file path, a SQLAlchemy URL"):
        Warehouse.open(42)
    with pytest.raises(ValueError, match=r"cannot open warehouse URL") as info:
        Warehouse.open("nosuchdialect://user:s3cret@host/db")
    assert "s3cret" not in str(info.value)
