"""The pipe between a process and the second interpreter it starts (``python -m
tracker.ingest`` parses, ``python -m tracker.cases`` classifies): length-prefixed pickles.

A fresh interpreter rather than multiprocessing: spawn re-runs the caller's main script,
and a fork inherits the parent's database connections.
"""
from __future__ import annotations

import io
import pickle
from typing import IO, Any


def write_message(out: IO[bytes], obj: Any, *, fast: bool = False) -> None:
    """One message.  ``fast``: pickle without the memo (4× cheaper for trees of small strings
    that share nothing, such as parsed rows)."""
    if fast:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True
        pickler.dump(obj)
        data = buffer.getvalue()
    else:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)


# A column of text crosses as one string: pickling it value by value costs ~10× the join.
_SEPARATOR = "\x1f"
_NONE = "\x00"


def packed_column(values: list) -> str | list:
    """A column of text and None as one string where it can be; else the list itself."""
    if not values:
        return values
    try:
        joined = _SEPARATOR.join(values)  # most columns hold no None
        has_none = False
    except TypeError:
        if not any(values) and values.count(None) == len(values):
            return values  # no value at all (a field the export lacks): a byte a value as it is
        try:
            joined = _SEPARATOR.join([_NONE if v is None else v for v in values])
        except TypeError:  # numbers: pickled as they are
            return values
        has_none = True
    if joined.count(_SEPARATOR) != len(values) - 1:  # a value holds a separator
        return values
    # Nones are counted only when there are markers to account for: list.count(None)
    # compares every string with None (two rich comparisons a value)
    markers = joined.count(_NONE)
    if markers and markers != (values.count(None) if has_none else 0):  # a value holds the None marker
        return values
    return joined


def unpacked_column(packed: str | list) -> list:
    """The column ``packed_column`` made, as it was."""
    if type(packed) is not str:
        return packed
    values = packed.split(_SEPARATOR)
    if _NONE in packed:
        return [None if v == _NONE else v for v in values]
    return values


def read_raw(stream: IO[bytes]) -> bytes | None:
    """The next message's bytes, or None when the other side has gone."""
    header = _read_exactly(stream, 8)
    return header and _read_exactly(stream, int.from_bytes(header, "little"))


def read_message(stream: IO[bytes]) -> Any:
    """The next message; EOFError when the other side has gone."""
    data = read_raw(stream)
    if data is None:
        raise EOFError
    return pickle.loads(data)


def picklable(err: BaseException) -> BaseException:
    """The error itself if it can cross the pipe, else its text in a RuntimeError."""
    try:
        pickle.dumps(err)
    except Exception:  # noqa: BLE001 - any failure to pickle: send the text instead
        return RuntimeError(f"{type(err).__name__}: {err}")
    return err


def _read_exactly(stream: IO[bytes], n: int) -> bytes | None:
    parts, left = [], n
    while left:
        part = stream.read(left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
