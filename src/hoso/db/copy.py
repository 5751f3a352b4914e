"""PostgreSQL ``COPY … FROM STDIN`` in text and binary format, for the bulk writes of hoso.

Callers build each row's fields as bytes (documents are canonical JSON already: JSON text
holds no raw tab or newline, so only backslashes need doubling, see :func:`json_field`) and
this module escapes the rest and streams the rows in chunks of about 1 MiB. The binary
format (:func:`copy_binary`) sends large documents as they are, with nothing to escape on
this side or to parse on the server's; its fields must match the column types exactly.
"""

from __future__ import annotations

import calendar
import datetime as dt
import struct
from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = b"\\N"


def text_field(value: str | None) -> bytes:
    """A text value in COPY format (``\\N`` for NULL, specials escaped)."""
    if value is None:
        return NULL
    return value.translate(_ESCAPES).encode()


def json_field(document: bytes | None) -> bytes:
    """A JSON document (bytes without raw tabs or newlines) in COPY format."""
    return NULL if document is None else document.replace(b"\\", b"\\\\")


def copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[bytes]]
) -> None:
    """Stream ``rows`` (fields already in COPY format) into ``table`` on the session's connection."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        chunk: list[bytes] = []
        size = 0
        for fields in rows:
            line = b"\t".join(fields)
            chunk.append(line)
            size += len(line)
            if size > 1 << 20:
                copy.write(b"\n".join(chunk) + b"\n")
                chunk, size = [], 0
        if chunk:
            copy.write(b"\n".join(chunk) + b"\n")


# --------------------------------------------------------------------------- binary format

_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_BINARY_TRAILER = struct.pack("!h", -1)
BINARY_NULL = struct.pack("!i", -1)
_PG_EPOCH_US = 946_684_800_000_000
"""Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC)."""


def bin_bytes(value: bytes | None) -> bytes:
    """A ``text``/``varchar``/``bytea`` field in binary COPY format (raw bytes, no escaping)."""
    if value is None:
        return BINARY_NULL
    return struct.pack("!i", len(value)) + value


def bin_text(value: str | None) -> bytes:
    """A text field in binary COPY format."""
    return BINARY_NULL if value is None else bin_bytes(value.encode())


def bin_int4(value: int) -> bytes:
    """An ``integer`` field in binary COPY format."""
    return b"\x00\x00\x00\x04" + struct.pack("!i", value)


def bin_timestamptz(value: dt.datetime) -> bytes:
    """A ``timestamptz`` field in binary COPY format (microseconds since 2000-01-01 UTC)."""
    micros = calendar.timegm(value.utctimetuple()) * 1_000_000 + value.microsecond - _PG_EPOCH_US
    return b"\x00\x00\x00\x08" + struct.pack("!q", micros)


def copy_binary(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[bytes]]
) -> None:
    """Stream ``rows`` into ``table`` with binary COPY: no text escaping or parsing of large
    documents on either side. Each row is its fields already encoded by the ``bin_*``
    helpers, in ``columns`` order (the column types must match the encodings exactly)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    count = struct.pack("!h", len(columns))
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)") as copy,
    ):
        chunk: list[bytes] = [_BINARY_HEADER]
        size = 0
        for fields in rows:
            chunk.append(count)
            chunk.extend(fields)
            size += sum(len(f) for f in fields)
            if size > 1 << 20:
                copy.write(b"".join(chunk))
                chunk, size = [], 0
        chunk.append(_BINARY_TRAILER)
        copy.write(b"".join(chunk))
