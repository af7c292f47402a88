"""Arrow arrays built from page values without ``pa.array``: the same arrays, no pandas import, and text no
Arrow string can hold (lone surrogates) kept instead of failing the page."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlt_sources.outlit import arrays
from dlt_sources.outlit.arrow import column_values, latest_timestamp, to_table
from dlt_sources.outlit.settings import TIMELINE_COLUMNS

PLAIN = st.one_of(
    st.none(),
    st.text(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([2**53, -(2**53), 2**53 + 1, 2**63 - 1, -(2**63), 2**63]),
    st.floats(allow_nan=False),
)


def _pa_array(values: list[Any], target: pa.DataType | None) -> pa.Array | None:
    try:
        return pa.array(values, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return None


@pytest.mark.parametrize("target", [pa.string(), pa.int64(), pa.float64(), pa.bool_()])
@settings(max_examples=300, deadline=None)
@given(values=st.lists(PLAIN, max_size=40))
def test_builders_equal_pa_array_for_every_value_they_take(target: pa.DataType, values: list[Any]) -> None:
    expected = _pa_array(values, target)
    try:
        built = arrays.build(values, target)
    except arrays.NotPlain:
        return  # the caller falls back to pa.array for these
    assert expected is not None, f"pa.array refuses {values!r} as {target}, the builder took them"
    built.validate(full=True)
    assert built.equals(expected), (values, target)


@settings(max_examples=500, deadline=None)
@given(values=st.lists(st.one_of(PLAIN, st.lists(st.none(), max_size=1)), max_size=40))
def test_inference_equals_pa_array_for_every_value_it_takes(values: list[Any]) -> None:
    try:
        built = arrays.infer(values)
    except arrays.NotPlain:
        return
    expected = _pa_array(values, None)
    assert expected is not None, f"pa.array refuses {values!r}, inference took them"
    built.validate(full=True)
    assert built.type == expected.type and built.equals(expected), values


@pytest.mark.parametrize(
    ("values", "target"),
    [
        ([], pa.string()),
        ([None] * 9, pa.int64()),
        ([1, None, 3, None, 5, None, 7, None, 9], pa.int64()),
        ([True, False, None, True, True, False, False, True, None], pa.bool_()),
        ([math.nan, 1, None], pa.float64()),
        (["é", "", None, "日本語"], pa.string()),
    ],
)
def test_edges_the_random_cases_may_miss(values: list[Any], target: pa.DataType) -> None:
    built = arrays.build(values, target)
    built.validate(full=True)
    expected = pa.array(values, target)
    assert built.null_count == expected.null_count == sum(v is None for v in values)
    # Arrow's equals never finds NaN equal to NaN; their Python reprs are
    assert built.equals(expected) or repr(built.to_pylist()) == repr(expected.to_pylist())


def test_values_no_arrow_type_holds_are_kept_as_text() -> None:
    # a whole number past 64 bits in a field nobody declared failed the page with OverflowError before
    table = to_table(
        [{"id": "a", "customer_id": "c", "big": 2**64}, {"id": "b", "customer_id": "c"}], TIMELINE_COLUMNS
    )
    assert table.column("big").to_pylist() == [str(2**64), None]


@pytest.mark.parametrize(
    ("values", "target"),
    [
        ([True], pa.int64()),
        ([3.0], pa.int64()),
        ([2**63], pa.int64()),
        ([1], pa.bool_()),
        ([b"x"], pa.string()),
    ],
)
def test_what_the_builders_do_not_take_is_refused_for_the_fallback(
    values: list[Any], target: pa.DataType
) -> None:
    with pytest.raises(arrays.NotPlain):
        arrays.build(values, target)


def test_a_page_and_its_load_import_no_pandas(tmp_path: Path) -> None:
    """Each scheduled run is a fresh process; ``pa.array`` and zoned timestamps' ``as_py`` would import pandas
    there (apache/arrow#34994), and a first import inside dlt's extract threads can race another thread's."""
    script = textwrap.dedent(
        """
        import importlib.abc, json, sys

        attempts = []

        class Watch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "pandas":
                    attempts.append(name)
                return None

        sys.meta_path.insert(0, Watch())
        import dlt
        from dlt_sources.outlit.arrow import column_values, latest_timestamp, to_table
        from dlt_sources.outlit.settings import TIMELINE_COLUMNS

        page = [
            {"id": f"e{i}", "customer_id": "c", "eventType": "call", "occurredAt": "2026-01-01T00:00:00.000Z",
             "metadata": {"n": i, "tags": ["a"]}, "score": i / 2, "count": i, "flag": i % 2 == 0,
             "note": None,
             "seenAt": "2026-01-02T00:00:00Z", "extra": {"x": 1}}
            for i in range(50)
        ]
        table = to_table(page, TIMELINE_COLUMNS)
        # what the source reads back from a page: ids, zoned timestamps, the cursor's latest value
        assert column_values(table, "occurred_at")[0].isoformat() == "2026-01-01T00:00:00+00:00"
        assert latest_timestamp(table, "seen_at") == "2026-01-02T00:00:00.000Z"
        column_values(table, "id")
        during_page = list(attempts)

        @dlt.resource(name="timeline", primary_key="id", write_disposition="merge", columns=TIMELINE_COLUMNS)
        def timeline():
            yield table

        pipeline = dlt.pipeline("no_pandas", destination=dlt.destinations.duckdb(sys.argv[1]),
                                pipelines_dir=sys.argv[2], dataset_name="d")
        pipeline.run(timeline())
        print(json.dumps({"page": during_page, "run": attempts, "loaded": "pandas" in sys.modules}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "x.duckdb"), str(tmp_path / "pipelines")],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"page": [], "run": [], "loaded": False}, report
    with duckdb.connect(str(tmp_path / "x.duckdb")) as db:
        assert db.execute(
            "SELECT count(*), sum(count), count(DISTINCT metadata) FROM d.timeline"
        ).fetchone() == (
            50,
            sum(range(50)),
            50,
        )


def test_text_no_arrow_string_can_hold_is_kept_and_the_page_loads(tmp_path: Path) -> None:
    lone = "\ud800"  # what the JSON escape "\\ud800" decodes to
    table = to_table(
        [
            {"id": "a", "customer_id": "c", "title": f"ok {lone}", "metadata": {"k": lone}, "other": lone},
            {"id": "b", "customer_id": "c", "title": "fine", "metadata": {"k": "é"}, "other": "x"},
        ],
        TIMELINE_COLUMNS,
    )
    table.validate(full=True)
    assert table.column("title").to_pylist() == [None, "fine"]
    assert json.loads(table.column("title__v_text").to_pylist()[0]) == f"ok {lone}"  # the value, escaped
    assert [json.loads(t) for t in table.column("metadata").to_pylist()] == [{"k": lone}, {"k": "é"}]
    assert json.loads(table.column("other").to_pylist()[0]) == lone
    with duckdb.connect(str(tmp_path / "x.duckdb")) as db:
        db.register("page", table)
        assert db.execute("SELECT count(*) FROM page").fetchone() == (2,)


def test_timestamps_read_back_from_a_page_equal_pyarrows_own_conversion() -> None:
    stamps = ["2026-01-01T00:00:00.000Z", None, "1999-12-31T23:59:59.999999Z", "2026-06-30T12:00:00+02:00"]
    table = to_table(
        [{"id": str(i), "customer_id": "c", "occurredAt": t} for i, t in enumerate(stamps)], TIMELINE_COLUMNS
    )
    assert column_values(table, "occurred_at") == table.column("occurred_at").to_pylist()
    assert latest_timestamp(table, "occurred_at") == "2026-06-30T10:00:00.000Z"
    assert (
        latest_timestamp(to_table([{"id": "x", "customer_id": "c"}], TIMELINE_COLUMNS), "occurred_at") is None
    )
