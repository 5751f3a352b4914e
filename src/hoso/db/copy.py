"""PostgreSQL ``COPY … FROM STDIN`` in text format, for the bulk writes of hoso.

Callers build each row's fields as bytes (documents are canonical JSON already: JSON text
holds no raw tab or newline, so only backslashes need doubling, see :func:`json_field`) and
this module escapes the rest and streams the rows in chunks of about 1 MiB.
"""

from __future__ import annotations

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
