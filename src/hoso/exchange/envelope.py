"""The envelope of ``hoso-exchange/1`` (§3): build, sign, parse and verify.

The signature covers the JCS bytes of the envelope without ``signature``. hoso's own
envelopes never hold floats or non-ASCII keys, for which orjson with sorted keys yields the
JCS bytes exactly (checked against ``rfc8785`` in the tests); a received envelope is first
checked with those bytes and, only if that fails, with the ``rfc8785`` serialisation, so a
sender that put a float in (refused later as ``schema_invalid``) still gets the right code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
import rfc8785

from hoso.exchange import jws
from hoso.exchange.certificates import agency_codes, parse_time
from hoso.exchange.errors import ExchangeError
from hoso.exchange.signing import Signer
from hoso.exchange.trust import TrustStore

SPEC = "hoso-exchange/1"
TYPES = (
    "records.upsert",
    "records.retire",
    "orgtree.upsert",
    "corrections.propose",
    "corrections.resolve",
    "ack",
)
ENVELOPE_KEYS = frozenset(
    {"spec", "id", "type", "sender", "receiver", "sequence", "created_at", "body", "signature"}
)
NODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,59}:[a-z0-9-]{1,32}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
FUTURE_SKEW = dt.timedelta(minutes=10)
MAX_SEQUENCE = 2**53


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def rfc3339(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (seconds precision, UTC)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_uuid_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, a 12-bit counter, 62 random bits.

    Monotonic within a process: ids made in the same millisecond increase.
    """
    global _last_ms, _counter
    with _uuid_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms, _counter = ms, int.from_bytes(os.urandom(2), "big") & 0x3FF
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def node_agency(node: str) -> str:
    """The agency code of a node id (``000.00.00.H41:hrm`` → ``000.00.00.H41``)."""
    return node.rsplit(":", 1)[0]


def canonical(value: Any) -> bytes:
    """JCS bytes of a value hoso built (no floats, ASCII keys): orjson with sorted keys."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonical_with_data(unsigned: dict[str, Any]) -> tuple[bytes, tuple[bytes | None, ...] | None]:
    """:func:`canonical` of an envelope, and for ``records.upsert`` the JCS bytes of each
    record's ``data`` on the way (None where ``data`` is not an object).

    The receiver needs both: the envelope's bytes for its signature and each record's data
    bytes for its content hash. Each data object is serialised once and embedded in the
    envelope's bytes as an ``orjson.Fragment``, which yields the same bytes as serialising
    the envelope whole.
    """
    body = unsigned.get("body")
    if unsigned.get("type") != "records.upsert" or not isinstance(body, dict):
        return canonical(unsigned), None
    records = body.get("records")
    if not isinstance(records, list):
        return canonical(unsigned), None
    pieces: list[bytes | None] = []
    embedded: list[Any] = []
    try:
        for record in records:
            data = record.get("data") if isinstance(record, dict) else None
            if isinstance(data, dict):
                piece = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
                pieces.append(piece)
                embedded.append({**record, "data": orjson.Fragment(piece)})
            else:
                pieces.append(None)
                embedded.append(record)
    except orjson.JSONEncodeError:
        return canonical(unsigned), None
    whole = {**unsigned, "body": {**body, "records": embedded}}
    return canonical(whole), tuple(pieces)


def canonical_strict(value: Any) -> bytes:
    """JCS bytes by the reference ``rfc8785`` implementation (any JSON value)."""
    return bytes(rfc8785.dumps(value))


def build(
    type_: str,
    *,
    sender: str,
    receiver: str,
    sequence: int,
    body: dict[str, Any],
    created_at: dt.datetime | None = None,
    id_: str | None = None,
) -> dict[str, Any]:
    """An unsigned envelope."""
    return {
        "spec": SPEC,
        "id": id_ or new_id(),
        "type": type_,
        "sender": sender,
        "receiver": receiver,
        "sequence": sequence,
        "created_at": rfc3339(created_at or utc_now()),
        "body": body,
    }


def sign(envelope: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """A copy of ``envelope`` with its ``signature``."""
    unsigned = {k: v for k, v in envelope.items() if k != "signature"}
    return {**unsigned, "signature": jws.sign_detached(signer, canonical(unsigned))}


def _schema(field: str, vi: str, en: str, value: Any = None) -> ExchangeError:
    return ExchangeError.of("schema_invalid", field=field, detail_vi=vi, detail_en=en, value=value)


def check_shape(envelope: Any) -> None:
    """Refuse (``schema_invalid``) anything that is not a well-formed envelope."""
    if not isinstance(envelope, dict):
        raise _schema(
            "", "thông điệp phải là một đối tượng JSON", "a message must be a JSON object"
        )
    missing = sorted(ENVELOPE_KEYS - envelope.keys())
    if missing:
        raise _schema(missing[0], f"thiếu trường '{missing[0]}'", f"missing field '{missing[0]}'")
    extra = sorted(envelope.keys() - ENVELOPE_KEYS)
    if extra:
        raise _schema(
            extra[0], f"trường không có trong định dạng '{extra[0]}'", f"unknown field '{extra[0]}'"
        )
    if envelope["spec"] != SPEC:
        raise _schema(
            "spec",
            f"phiên bản định dạng phải là '{SPEC}'",
            f"spec must be '{SPEC}'",
            envelope["spec"],
        )
    if not isinstance(envelope["id"], str) or not UUID_RE.match(envelope["id"]):
        raise _schema("id", "'id' phải là UUIDv7", "'id' must be a UUIDv7", envelope["id"])
    if envelope["type"] not in TYPES:
        raise _schema(
            "type", "loại thông điệp không hợp lệ", "unknown message type", envelope["type"]
        )
    for key in ("sender", "receiver"):
        if not isinstance(envelope[key], str) or not NODE_RE.match(envelope[key]):
            raise _schema(
                key,
                f"'{key}' phải có dạng <mã cơ quan>:<hệ thống>",
                f"'{key}' must be <agency_code>:<system>",
                envelope[key],
            )
    seq = envelope["sequence"]
    if seq.__class__ is not int or not 1 <= seq < MAX_SEQUENCE:
        raise _schema(
            "sequence",
            "'sequence' phải là số nguyên dương",
            "'sequence' must be a positive integer",
            seq,
        )
    if parse_time(envelope["created_at"]) is None:
        raise _schema(
            "created_at",
            "'created_at' phải theo RFC 3339 UTC (…Z)",
            "'created_at' must be RFC 3339 UTC (…Z)",
            envelope["created_at"],
        )
    if not isinstance(envelope["body"], dict):
        raise _schema("body", "'body' phải là một đối tượng JSON", "'body' must be a JSON object")
    if not isinstance(envelope["signature"], str):
        raise ExchangeError.of(
            "signature_invalid",
            field="signature",
            detail_vi="thiếu chữ ký",
            detail_en="no signature",
        )


@dataclass(frozen=True, slots=True)
class VerifiedEnvelope:
    """An envelope whose signature, certificate, sender and time were checked."""

    envelope: dict[str, Any]
    body_sha256: str
    """SHA-256 of the body's JCS bytes (a resend has the same id and body, maybe a new time)."""
    created_at: dt.datetime
    signer: jws.Verified
    data_canonical: tuple[bytes | None, ...] | None = None
    """For ``records.upsert`` verified with hoso's fast JCS: each record's data as JCS bytes."""

    @property
    def id(self) -> str:
        """The message id."""
        return str(self.envelope["id"])

    @property
    def type(self) -> str:
        """The message type."""
        return str(self.envelope["type"])

    @property
    def sender(self) -> str:
        """The sending node."""
        return str(self.envelope["sender"])

    @property
    def receiver(self) -> str:
        """The receiving node."""
        return str(self.envelope["receiver"])

    @property
    def sequence(self) -> int:
        """The message's place in its stream."""
        return int(self.envelope["sequence"])

    @property
    def body(self) -> dict[str, Any]:
        """The message body."""
        body: dict[str, Any] = self.envelope["body"]
        return body


def verify(
    envelope: Any,
    *,
    trust: TrustStore,
    now: dt.datetime,
    window: dt.timedelta,
) -> VerifiedEnvelope:
    """§5 rules 1–2: shape, signature and certificate, sender named in it, creation time."""
    check_shape(envelope)
    unsigned = {k: v for k, v in envelope.items() if k != "signature"}
    created_at = parse_time(envelope["created_at"])
    assert created_at is not None
    payload, pieces = canonical_with_data(unsigned)
    try:
        verified = jws.verify_detached(envelope["signature"], payload, trust=trust, at=created_at)
    except ExchangeError as exc:
        if exc.code != "signature_invalid":
            raise
        strict = canonical_strict(unsigned)
        if strict == payload:
            raise
        verified = jws.verify_detached(envelope["signature"], strict, trust=trust, at=created_at)
        payload, pieces = strict, None
    agency = node_agency(envelope["sender"])
    if agency not in agency_codes(verified.leaf):
        raise ExchangeError.of(
            "sender_mismatch",
            field="sender",
            detail_vi=f"chứng thư của '{verified.leaf.subject.rfc4514_string()}' không phải của '{agency}'",
            detail_en=f"the certificate of '{verified.leaf.subject.rfc4514_string()}' is not of '{agency}'",
            value=envelope["sender"],
        )
    if created_at > now + FUTURE_SKEW:
        raise ExchangeError.of(
            "too_old",
            field="created_at",
            detail_vi="thời điểm tạo ở tương lai",
            detail_en="created in the future",
            value=envelope["created_at"],
        )
    if created_at < now - window:
        raise ExchangeError.of(
            "too_old",
            field="created_at",
            detail_vi=f"cũ hơn {int(window.total_seconds())} giây",
            detail_en=f"older than {int(window.total_seconds())} seconds",
            value=envelope["created_at"],
        )
    # Keys sort as body, created_at, id, …: the JCS text is {"body":<body JCS>,"created_at":….
    end = payload.rfind(b',"created_at":')
    assert payload.startswith(b'{"body":') and end > 0
    return VerifiedEnvelope(
        envelope=envelope,
        body_sha256=hashlib.sha256(memoryview(payload)[8:end]).hexdigest(),  # no 9 MB copy
        created_at=created_at,
        signer=verified,
        data_canonical=pieces,
    )
