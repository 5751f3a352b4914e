"""Checking bulk records without I/O: parse, validate, check organisations, hash.

Kept apart from the services (no SQLAlchemy, no openpyxl) so that the import's worker
processes start fast: they import only this module, the validator and the catalogue.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from hoso.errors import Issue
from hoso.people.canonical import canonical_bytes, fold
from hoso.people.validation import CheckedDossier, check_orgs, get_validator, invalid_json

Record = tuple[int, str | None, Any]
"""(line or row number, sheet name for XLSX, raw bytes, parsed object or an Exception)."""

Progress = Callable[[int], None]
"""Called with the number of bytes (JSON Lines) or rows (XLSX) processed so far."""


def person_columns(data: dict[str, Any]) -> dict[str, Any]:
    """The indexed columns of ``person`` copied from a document."""
    name = data.get("birth_name")
    return {
        "birth_name": name,
        "name_search": fold(name) if isinstance(name, str) else None,
        "date_of_birth": data.get("date_of_birth"),
        "sex": data.get("sex"),
        "employee_type_code": data.get("employee_type_code"),
        "rank_code": data.get("rank_code"),
        "position_code": data.get("current_position_code"),
        "employment_status_code": data.get("employment_status_code"),
    }


def _hash_issue(checked: CheckedDossier, actual: str) -> Issue:
    return Issue(
        field="content_hash",
        code="content_hash_mismatch",
        message_vi=f"content_hash {checked.content_hash!r} không khớp với dữ liệu (tính được {actual})",
        message_en=f"content_hash {checked.content_hash!r} does not match the data (computed {actual})",
        value=checked.content_hash,
    )


_TRUST: dict[tuple[str, str], Any] = {}


def _approval_issue(checked: CheckedDossier, content_hash: str) -> Issue | None:
    """Verify the approval an export line carries (exchange §8); None when it holds.

    The trust anchors are the node's (``HOSO_TRUST_ANCHORS``); without them an approval
    cannot be verified and the line is refused rather than stored as approved. The exchange
    modules are imported only here, so checking workers stay lean for plain imports.
    """
    from hoso.config import get_settings
    from hoso.exchange.certificates import check_approval
    from hoso.exchange.errors import ExchangeError
    from hoso.exchange.trust import TrustStore

    settings = get_settings()
    key = (settings.trust_anchors, str(settings.revoked_file))
    if key not in _TRUST:
        anchors = [Path(p.strip()) for p in settings.trust_anchors.split(",") if p.strip()]
        _TRUST[key] = TrustStore.from_files(anchors, settings.revoked_file) if anchors else None
    trust = _TRUST[key]
    if trust is None:
        return Issue(
            field="approval",
            code="approval_unverifiable",
            message_vi="Không kiểm tra được chữ ký phê duyệt: chưa cấu hình chứng thư CA tin cậy (HOSO_TRUST_ANCHORS)",
            message_en="The approval cannot be verified: no trust anchors are configured (HOSO_TRUST_ANCHORS)",
            value=None,
        )
    try:
        check_approval(checked.approval, content_hash, checked.managing_agency or "", trust=trust)
    except ExchangeError as exc:
        return Issue(
            field=exc.field or "approval",
            code="approval_invalid",
            message_vi=exc.message_vi,
            message_en=exc.message_en,
            value=None,
        )
    return None


def prepare(checked: CheckedDossier) -> str | None:
    """Compute the content hash of a checked dossier; record a mismatch with a claimed hash.

    Returns the hash, or None when the dossier must be refused.
    """
    if not checked.ok:
        return None
    canonical = canonical_bytes(checked.data, trusted=True)
    actual = "sha256:" + hashlib.sha256(canonical).hexdigest()
    if checked.content_hash is not None and checked.content_hash != actual:
        checked.issues.append(_hash_issue(checked, actual))
        return None
    if checked.approval is not None:
        problem = _approval_issue(checked, actual)
        if problem is not None:
            checked.issues.append(problem)
            return None
    checked.canonical = canonical
    checked.columns = person_columns(checked.data)
    return actual


def _personal_id_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        pid = raw.get("personal_id")
        if pid is None and isinstance(raw.get("data"), dict):
            pid = raw["data"].get("personal_id")
        if pid is not None:
            return str(pid)[:40]
    return None


def _issue_row(
    run_id: int | None, line: int, sheet: str | None, pid: str | None, issues: list[Issue]
) -> dict[str, Any]:
    first = issues[0]
    value = first.value
    return {
        "run_id": run_id,
        "line": line,
        "sheet": sheet,
        "personal_id": pid,
        "field": first.field,
        "value": None
        if value is None
        else (value if isinstance(value, str) else orjson.dumps(value, default=str).decode()),
        "code": first.code,
        "message_vi": first.message_vi,
        "message_en": first.message_en,
        "details": [i.as_dict() for i in issues],
    }


Checked = tuple[list[tuple[CheckedDossier, str]], list[dict[str, Any]]]
"""Good dossiers with their hashes, and issue rows of the refused lines."""

_WORKER: dict[str, Any] = {}


def _init_worker(
    paths: dict[str, str], scope_path: str | None, is_xlsx: bool, run_id: int | None
) -> None:
    _WORKER.update(paths=paths, scope_path=scope_path, is_xlsx=is_xlsx, run_id=run_id)
    get_validator()  # compile the checks and load the catalogue once, then
    gc.freeze()  # keep the collector off these long-lived objects


def _jsonl_ranges(
    path: Path, skip: int, size: int, progress: Progress | None
) -> Iterator[tuple[int, int, int, int]]:
    """Batches of ``size`` lines as (first line number, line count, start, end offsets)."""
    line_no = 0
    offset = 0
    batch_first, batch_start, batch_count = 1, 0, 0
    tail = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(4 << 20)
            if not block:
                break
            data = tail + block
            base = offset - len(tail)
            pos = 0
            while True:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                line_no += 1
                pos = nl + 1
                if line_no <= skip:
                    batch_first, batch_start = line_no + 1, base + pos
                    continue
                batch_count += 1
                if batch_count == size:
                    yield batch_first, batch_count, batch_start, base + pos
                    batch_first, batch_start, batch_count = line_no + 1, base + pos, 0
            tail = data[pos:]
            offset += len(block)
            if progress is not None:
                progress(offset)
    if tail:
        line_no += 1
        if line_no > skip:
            batch_count += 1
    if batch_count:
        yield batch_first, batch_count, batch_start, offset


def _worker_check_range(path: str, first: int, start: int, end: int) -> Packed:
    with open(path, "rb") as fh:
        fh.seek(start)
        chunk = fh.read(end - start)
    lines = chunk.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    batch: list[Record] = [
        (first + i, None, raw if raw.strip() else None) for i, raw in enumerate(lines)
    ]
    return _worker_check(batch)


Packed = tuple[list[tuple[Any, ...]], list[dict[str, Any]]]
"""A worker's result as plain tuples (cheaper to pickle than dataclasses)."""


def _worker_check(batch: list[Record]) -> Packed:
    good, bad = check_records(
        batch, _WORKER["paths"], _WORKER["scope_path"], _WORKER["is_xlsx"], _WORKER["run_id"]
    )
    # The canonical bytes and the columns carry what storing needs; the document stays here.
    packed = [
        (
            c.personal_id,
            c.managing_agency,
            c.employing_unit,
            c.concurrent_posts,
            c.approval,
            c.canonical,
            c.columns,
            digest,
        )
        for c, digest in good
    ]
    return packed, bad


def _unpack(result: Packed) -> Checked:
    good = [
        (
            CheckedDossier(
                personal_id=pid,
                managing_agency=agency,
                employing_unit=unit,
                data={},
                concurrent_posts=posts,
                approval=approval,
                canonical=canonical,
                columns=columns,
            ),
            digest,
        )
        for pid, agency, unit, posts, approval, canonical, columns, digest in result[0]
    ]
    return good, result[1]


def check_records(
    batch: list[Record],
    paths: dict[str, str],
    scope_path: str | None,
    is_xlsx: bool,
    run_id: int | None,
) -> Checked:
    """Parse, validate, check organisations and hash a batch of records (no I/O)."""
    validator = get_validator()
    good: list[tuple[CheckedDossier, str]] = []
    bad: list[dict[str, Any]] = []
    for line, sheet, raw in batch:
        if raw is None:
            continue
        if isinstance(raw, bytes):
            try:
                raw = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raw = ValueError(str(exc))
        if isinstance(raw, Exception):
            issue = (
                invalid_json(line, str(raw))
                if not is_xlsx
                else Issue(
                    field="",
                    code="invalid_row",
                    message_vi=str(raw).split(" / ")[0],
                    message_en=str(raw).split(" / ")[-1],
                    value=None,
                )
            )
            bad.append(_issue_row(run_id, line, sheet, None, [issue]))
            continue
        checked = validator.check_line(raw)
        if checked.ok:
            check_orgs(checked, paths, scope_path)
        digest = prepare(checked)
        if digest is None:
            bad.append(
                _issue_row(
                    run_id, line, sheet, checked.personal_id or _personal_id_of(raw), checked.issues
                )
            )
        else:
            good.append((checked, digest))
    return good, bad
