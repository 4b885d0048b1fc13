"""A column-mapping file (TOML) that turns any other export into records.

For platforms we have no module for (快手, 小红书, an ERP's export).  Example::

    platform = "kuaishou"          # goes into every record
    kind = "orders"                # orders | items | refunds
    date_format = "%Y/%m/%d %H:%M" # optional; default: the usual formats, tried in turn

    [columns]                      # header in the file = field
    "订单号" = "platform_order_id"
    "订单状态" = "status"
    "快递单号" = "waybill"
    "快递公司" = "carrier"

    [statuses]                     # optional: raw status = normalized status
    "已发货" = "shipped"

Every mistake is reported at load time with the file name and what is allowed; a mapped
header the file lacks refuses the file, naming it.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from .formats import ID_FIELDS, RECORDS, VOCABULARY, Format, field_names, header_name

_KEYS = frozenset({"platform", "kind", "date_format", "columns", "statuses", "title"})
_PLATFORM = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class MappingError(ValueError):
    """The mapping file is unusable; the message says where and what is allowed."""


def load(path: str | os.PathLike) -> Format:
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise MappingError(f"{path}: cannot read the mapping file: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise MappingError(f"{path}: not valid TOML: {err}") from err
    return from_dict(spec, source=str(path))


def from_dict(spec: dict, source: str = "mapping") -> Format:
    def fail(message: str) -> MappingError:
        return MappingError(f"{source}: {message}")

    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise fail(f"unknown keys {unknown}; allowed: {sorted(_KEYS)}")
    platform = spec.get("platform")
    if not isinstance(platform, str) or not _PLATFORM.match(platform):
        raise fail("'platform' must be a short lowercase name such as \"kuaishou\"")
    kind = spec.get("kind")
    if kind not in RECORDS:
        raise fail(f"'kind' must be one of {sorted(RECORDS)}, not {kind!r}")
    columns = spec.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise fail("[columns] must map file headers to fields")
    allowed = field_names(kind)
    for header, target in columns.items():
        if target not in allowed:
            raise fail(f"column {header!r} maps to unknown field {target!r}; {kind} fields: {', '.join(allowed)}")
    required = [f for f in ID_FIELDS[kind] if f not in columns.values()]
    if required:
        raise fail(f"[columns] must map a column to {', '.join(required)}")
    statuses = spec.get("statuses", {})
    vocabulary = VOCABULARY.get(kind, ())
    if not isinstance(statuses, dict) or (statuses and not vocabulary):
        raise fail(f"[statuses] is a table of raw status = one of {vocabulary}" if vocabulary
                   else f"[statuses] is not used for {kind}")
    for raw, normalized in statuses.items():
        if normalized not in vocabulary:
            raise fail(f"status {raw!r} maps to {normalized!r}; allowed: {', '.join(vocabulary)}")
    date_format = spec.get("date_format")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        raise fail("'date_format' must be a strptime format such as \"%Y/%m/%d %H:%M\"")
    aliases = {header_name(h): f for h, f in columns.items()}
    # every field mapped must be found (through one of its headers): a header misspelt in
    # the mapping, or a sheet of another layout, is named instead of read as empty values
    by_field: dict[str, list[str]] = {}
    for h, f in aliases.items():
        by_field.setdefault(f, []).append(h)
    signature = tuple("|".join(headers) for headers in by_field.values())
    return Format("mapped", platform, kind, aliases, signature, statuses,
                  title=str(spec.get("title", source)),
                  date_format=date_format)
