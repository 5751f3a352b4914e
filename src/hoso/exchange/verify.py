"""Offline verification of envelopes and batch files: every check that needs no store.

Used by ``hoso exchange verify``. Retirements are checked against the content hashes of
records seen earlier in the same run (a batch file usually holds the upsert before the
retirement); a retirement of a version not seen is reported as not checkable here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from hoso.exchange import envelope as env_mod
from hoso.exchange import messages
from hoso.exchange.errors import ExchangeError
from hoso.exchange.trust import TrustStore
from hoso.orgs.schemas import OrgTreeIn, issues_from_validation_error
from hoso.people.validation import get_validator


@dataclass(slots=True)
class Outcome:
    """The verdict on one message: ``ok`` or the first §7 error per failing part."""

    label: str
    message_id: str | None
    type: str | None
    errors: list[ExchangeError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.errors


@dataclass(slots=True)
class Verifier:
    """Verifies messages one after another, remembering record hashes for retirements."""

    trust: TrustStore
    at: dt.datetime | None = None
    window: dt.timedelta = dt.timedelta(days=7)
    hashes: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)

    def check(self, message: Any, label: str) -> Outcome:
        """Verify one parsed envelope."""
        mid = message.get("id") if isinstance(message, dict) else None
        type_ = message.get("type") if isinstance(message, dict) else None
        out = Outcome(
            label, mid if isinstance(mid, str) else None, type_ if isinstance(type_, str) else None
        )
        now = self.at or env_mod.utc_now()
        try:
            verified = env_mod.verify(message, trust=self.trust, now=now, window=self.window)
            items = messages.check_body(verified.type, verified.body)
        except ExchangeError as exc:
            out.errors.append(exc)
            return out
        if verified.type == "records.upsert":
            validator = get_validator()
            for i, raw in enumerate(items):
                try:
                    rec = messages.check_record(raw, i, trust=self.trust, validator=validator)
                except ExchangeError as exc:
                    out.errors.append(exc)
                    continue
                self.hashes[(rec.personal_id, rec.version)] = (
                    rec.content_hash,
                    rec.managing_agency,
                )
        elif verified.type == "records.retire":
            for i, raw in enumerate(items):
                key = (
                    (raw.get("personal_id"), raw.get("version")) if isinstance(raw, dict) else None
                )
                if key not in self.hashes:
                    out.notes.append(
                        f"retirements[{i}]: chưa thấy phiên bản này, chưa kiểm tra chữ ký phê duyệt"
                        f" / version not seen in this run, approval not checked"
                    )
                    continue
                try:
                    messages.check_retirement(
                        raw, i, trust=self.trust, stored=lambda p, v: self.hashes.get((p, v))
                    )
                except ExchangeError as exc:
                    out.errors.append(exc)
        elif verified.type == "corrections.propose":
            for i, raw in enumerate(items):
                try:
                    messages.check_correction(raw, i)
                except ExchangeError as exc:
                    out.errors.append(exc)
        elif verified.type == "corrections.resolve":
            for i, raw in enumerate(items):
                try:
                    messages.check_resolution(raw, i)
                except ExchangeError as exc:
                    out.errors.append(exc)
        elif verified.type == "orgtree.upsert":
            try:
                OrgTreeIn.model_validate({"units": items})
            except ValidationError as exc:
                first = issues_from_validation_error(exc, prefix="body")[0]
                out.errors.append(
                    ExchangeError.of(
                        "schema_invalid",
                        field=first.field,
                        detail_vi=first.message_vi,
                        detail_en=first.message_en,
                        value=first.value,
                    )
                )
        return out


def read_messages(path: Path) -> Iterator[tuple[str, Any]]:
    """The envelopes of a file: one JSON document, or JSON Lines (a batch file)."""
    text = path.read_bytes()
    try:
        yield path.name, orjson.loads(text)
        return
    except orjson.JSONDecodeError:
        pass
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"{path.name}:{n}", orjson.loads(line)
        except orjson.JSONDecodeError:
            yield f"{path.name}:{n}", line.decode("utf-8", "replace")
