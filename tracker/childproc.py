"""The pipe between a process and the second interpreter it starts (``python -m
tracker.ingest`` parses, ``python -m tracker.cases`` classifies): length-prefixed pickles.

A fresh interpreter rather than multiprocessing: spawn re-runs the caller's main script,
and a fork inherits the parent's database connections.
"""
from __future__ import annotations

import io
import pickle
import queue
import threading
from typing import IO, Any

PIPE_BYTES = 1 << 20  # Linux's default ceiling for an unprivileged pipe (fs.pipe-max-size)


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


class ReadAhead:
    """A thread that reads a child's messages (as bytes) as soon as they are written.

    Without it the child can run ahead of this process only by what the pipe holds (64 KB,
    a tenth of a chunk of rows): any chunk that takes this process longer than usual stalls
    the child too, and the time both lose is not made up.  ``depth`` bounds how many
    messages wait here (0: no bound, for a child whose output is bounded by what it was
    sent), so a child that parses faster than this process writes still waits, in bounded
    memory.  The pipe is widened too, so a message crosses in a few reads: the thread
    needs the interpreter's lock after each one, and may wait for it while this process
    computes.  Reading releases the lock, so the thread costs this process next to nothing.
    """

    def __init__(self, stream: IO[bytes], depth: int = 0):
        self._stream = stream
        self._messages: queue.Queue[bytes | None] = queue.Queue(depth)
        self._closing = threading.Event()
        self._error: BaseException | None = None
        widen_pipe(stream)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = read_raw(self._stream)
            except BaseException as err:  # noqa: BLE001 - raised by ``get``, not lost with the thread
                if not self._closing.is_set():  # else: the stream was closed under it
                    self._error = err
                data = None
            while not self._closing.is_set():
                try:
                    self._messages.put(data, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if data is None or self._closing.is_set():
                return

    def get(self, block: bool = True) -> bytes | None:
        """The next message's bytes, or None once the child has gone; ``queue.Empty`` if not
        ``block`` and none is waiting yet.  What stopped the reading (other than the stream's
        end) is raised here, so the caller kills the child instead of waiting for it."""
        data = self._messages.get(block)
        if data is None and self._error is not None:
            raise self._error
        return data

    def close(self, timeout: float | None = None) -> None:
        """Stop reading (call once the child has ended or been killed): the thread ends at the
        stream's end without waiting for room to hand over what it read."""
        self._closing.set()
        self._thread.join(timeout)


def widen_pipe(stream: IO[bytes]) -> None:
    """Let a pipe hold ``PIPE_BYTES`` where the system allows (Linux), so the writer seldom
    waits for the reader; elsewhere, or when refused, it stays as it is."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


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
