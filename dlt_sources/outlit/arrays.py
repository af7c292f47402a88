"""Arrow arrays built from a page's Python values straight into Arrow buffers.

``pa.array`` probes every list it is given for pandas, and the first probe in a process imports pandas
when it is installed (apache/arrow#34994): 0.3 s on an idle machine, 1 to 3 s on a loaded one, paid by
every scheduled run, since each runs in a fresh process. pandas is not ours to load (the Snowflake provider
brings it). These builders take the plain values a JSON page holds (``str``, ``int``, ``float``, ``bool``
and ``None``) and write the buffers themselves, so no probe happens. Anything else raises
:class:`NotPlain`, and the caller falls back to ``pa.array``, whose result these builders equal for every
value they take (a test compares them).
"""

from __future__ import annotations

import operator
from array import array as _c_array
from collections.abc import Sequence
from itertools import accumulate, repeat
from typing import Any

import pyarrow as pa

_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_INT64 = (-(2**63), 2**63 - 1)
# a double holds every integer in this range exactly; ``pa.array`` refuses others, so the fallback decides
_EXACT_IN_DOUBLE = 2**53


class NotPlain(ValueError):
    """A value the builders do not take (a type other than the plain JSON ones, or out of range)."""


def _bitmap(flags: bytes) -> pa.Buffer:
    """One byte per value (0 or 1) packed into Arrow's bitmap: bit i is value i, least significant first."""
    bits = flags[::-1].translate(_AS_DIGITS) or b"0"
    return pa.py_buffer(int(bits, 2).to_bytes((len(flags) + 7) // 8, "little"))


def _validity(values: Sequence[Any]) -> tuple[pa.Buffer | None, int]:
    """The validity bitmap (None when every value is present) and the number of nulls."""
    nulls = values.count(None)
    if not nulls:
        return None, 0
    return _bitmap(bytes(map(operator.is_not, values, repeat(None)))), nulls


def strings(values: Sequence[Any]) -> pa.Array:
    """A ``string`` array of ``str`` and ``None`` values."""
    try:
        # only str has .encode among the values a JSON page holds
        encoded = [b"" if v is None else v.encode() for v in values]
    except AttributeError as error:
        raise NotPlain("a value is not text") from error
    except UnicodeEncodeError as error:  # a lone surrogate, as a JSON "\\ud800" escape decodes to
        raise NotPlain("text that is not valid UTF-8") from error
    return _utf8(encoded, *_validity(values))


def utf8(values: Sequence[bytes | None]) -> pa.Array:
    """A ``string`` array of UTF-8 ``bytes`` (as orjson writes them, say) and ``None`` values."""
    validity, nulls = _validity(values)
    return _utf8([b"" if v is None else v for v in values], validity, nulls)


def _utf8(encoded: Sequence[bytes], validity: pa.Buffer | None, nulls: int) -> pa.Array:
    try:
        offsets = _c_array("i", [0, *accumulate(map(len, encoded))])
    except OverflowError as error:  # ``string`` offsets are 32-bit
        raise NotPlain("more text than a string array holds") from error
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    return pa.Array.from_buffers(pa.string(), len(encoded), buffers, null_count=nulls)


def integers(values: Sequence[Any]) -> pa.Array:
    """An ``int64`` array of ``int`` (not ``bool``) and ``None`` values."""
    low, high = _INT64
    for v in values:
        if v is not None and (type(v) is bool or not isinstance(v, int) or not low <= v <= high):
            raise NotPlain(f"{v!r} is not a 64-bit integer")
    data = _c_array("q", [0 if v is None else v for v in values])
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(pa.int64(), len(values), [validity, pa.py_buffer(data)], null_count=nulls)


def doubles(values: Sequence[Any]) -> pa.Array:
    """A ``float64`` array of ``float``, ``int`` (exactly representable) and ``None`` values."""
    for v in values:
        if v is None or type(v) is float:
            continue
        if (
            type(v) is bool
            or not isinstance(v, int | float)
            or (isinstance(v, int) and not -_EXACT_IN_DOUBLE <= v <= _EXACT_IN_DOUBLE)
        ):
            raise NotPlain(f"{v!r} is not a double")
    data = _c_array("d", [0.0 if v is None else v for v in values])
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(pa.float64(), len(values), [validity, pa.py_buffer(data)], null_count=nulls)


def booleans(values: Sequence[Any]) -> pa.Array:
    """A ``bool`` array of ``bool`` and ``None`` values."""
    if any(v is not None and type(v) is not bool for v in values):
        raise NotPlain("a value is not a bool")
    data = _bitmap(bytes(v is True for v in values))
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, data], null_count=nulls)


_BUILDERS = {pa.string(): strings, pa.int64(): integers, pa.float64(): doubles, pa.bool_(): booleans}


def build(values: Sequence[Any], target: pa.DataType) -> pa.Array:
    """The values as an array of ``target`` (``string``, ``int64``, ``float64`` or ``bool``)."""
    builder = _BUILDERS.get(target)
    if builder is None:
        raise NotPlain(f"no builder for {target}")
    return builder(values)


def infer(values: Sequence[Any]) -> pa.Array:
    """The values as the array ``pa.array`` would infer for them, when they are of one plain JSON type.

    All ``None`` gives a ``null`` array; ints and floats together give doubles, as Arrow infers them.
    """
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {str}:
        return strings(values)
    if kinds == {bool}:
        return booleans(values)
    if kinds == {int}:
        return integers(values)
    if kinds <= {int, float}:
        return doubles(values)
    raise NotPlain(f"values of the types {sorted(k.__name__ for k in kinds)}")
