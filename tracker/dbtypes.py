"""Column types that keep money exact and times in UTC on SQLite and PostgreSQL alike.

SQLite has neither a decimal nor a timezone-aware timestamp: ``Numeric`` there goes
through float, and ``DateTime`` drops the zone.  ``Money`` stores integer fen on SQLite
(sums stay exact) and ``NUMERIC(14,2)`` on PostgreSQL; ``UTCDateTime`` accepts only
aware datetimes, stores UTC, and hands back aware UTC datetimes.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator

UTC = timezone.utc


class Money(TypeDecorator):
    """Exact decimal with ``scale`` places (2 for yuan; 3 for kilograms)."""

    impl = Numeric(14, 2)
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2):
        super().__init__()
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)
        self._factor = 10**scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError("money must be Decimal or int, never float")
            value = Decimal(value)
        value = value.quantize(self._quantum, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(value * self._factor)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self._quantum)

    def bind_processor(self, dialect):
        generic = super().bind_processor(dialect)
        if dialect.name != "sqlite":
            return generic
        factor = self._factor

        def fen(value):  # the hot path of bulk imports: one call per value
            if type(value) is Decimal:
                scaled = value * factor
                whole = int(scaled)
                if whole == scaled:
                    return whole
            return generic(value)

        return fen


_UTC_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(2000, 1, 1)


class UTCDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime(timezone=False))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware (stored as UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def bind_processor(self, dialect):
        generic = super().bind_processor(dialect)
        if dialect.name != "sqlite":
            return generic

        def utc_text(value):  # the storage format SQLAlchemy's SQLite DateTime writes and reads
            if value is not None and value.tzinfo is UTC:  # as naive: formatting an offset costs 2×
                return (_NAIVE_EPOCH + (value - _UTC_EPOCH)).isoformat(" ", "microseconds")
            return generic(value)

        return utc_text
