"""Bulk import and export: bad lines reported once, reruns idempotent, exact round trips."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest_people import STRUCTURAL_KINDS, dossier_line, make_lines  # type: ignore[import-not-found]
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hoso.auth.principal import operator
from hoso.db.engine import unit_of_work
from hoso.people import bulk
from hoso.people import xlsx as xlsx_format
from hoso.people.models import ImportIssue, ImportRun, Person, PersonPost, PersonVersion


def write_file(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def export_bytes(session: Session) -> bytes:
    buf = io.BytesIO()
    bulk.export_jsonl(bulk.export_records(session, principal=operator()), buf)
    return buf.getvalue()


def wipe_people(session: Session) -> None:
    for model in (ImportIssue, ImportRun, PersonPost, PersonVersion, Person):
        session.execute(delete(model))
    session.flush()


def test_one_percent_bad_lines_of_every_kind(orgs: Session, tmp_path: Path) -> None:
    lines, bad = make_lines(2000, bad_every=100)
    assert set(bad.values()) == set(STRUCTURAL_KINDS)
    src = write_file(tmp_path / "people.jsonl", lines)
    errors = tmp_path / "errors.jsonl"
    report = bulk.import_file(src, principal=operator(), errors_path=errors, batch_size=300)
    assert report.rejected == len(bad)
    assert report.created == 2000 - len(bad)
    assert report.versioned == 1
    reported = [orjson.loads(x) for x in errors.read_bytes().splitlines()]
    assert sorted(r["line"] for r in reported) == sorted(bad)  # each bad line exactly once
    for r in reported:
        assert r["message_vi"] and r["message_en"] and "code" in r and "field" in r
    by_line = {r["line"]: r for r in reported}
    first_wrong_type = min(n for n, k in bad.items() if k == "wrong_type")
    assert by_line[first_wrong_type]["field"] == "salary_step"
    assert by_line[first_wrong_type]["value"] == "bốn"
    first_pid = min(n for n, k in bad.items() if k == "impossible_date")
    assert by_line[first_pid]["personal_id"]
    assert count(orgs, Person) == 2000 - len(bad)
    assert count(orgs, PersonVersion) == 2000 - len(bad) + 1
    # Re-importing the same file stores nothing new and says so.
    again = bulk.import_file(src, principal=operator(), errors_path=tmp_path / "errors2.jsonl")
    assert again.already_imported and again.stored == 0
    assert "không có gì mới" in again.summary() and "nothing new" in again.summary()
    assert (tmp_path / "errors2.jsonl").read_bytes() == errors.read_bytes()
    # --force re-applies every line: the person changed twice in the file gets its two
    # states again as versions 3 and 4; everyone else is unchanged.
    forced = bulk.import_file(src, principal=operator(), force=True, batch_size=500)
    assert (forced.stored, forced.unchanged) == (2, 2000 - len(bad) - 1)
    assert count(orgs, PersonVersion) == 2000 - len(bad) + 3


def test_checking_in_worker_processes_gives_the_same_result(orgs: Session, tmp_path: Path) -> None:
    lines, bad = make_lines(1200, bad_every=100)
    src = write_file(tmp_path / "people.jsonl", lines)
    errors = tmp_path / "errors.jsonl"
    report = bulk.import_file(
        src, principal=operator(), errors_path=errors, batch_size=100, workers=2
    )
    assert (report.created, report.versioned, report.rejected) == (1200 - len(bad), 1, len(bad))
    assert sorted(orjson.loads(x)["line"] for x in errors.read_bytes().splitlines()) == sorted(bad)
    in_workers = export_bytes(orgs)
    wipe_people(orgs)
    bulk.import_file(src, principal=operator(), batch_size=100, workers=0)
    assert export_bytes(orgs) == in_workers


def test_dry_run_stores_nothing(orgs: Session, tmp_path: Path) -> None:
    lines, bad = make_lines(500, bad_every=50)
    src = write_file(tmp_path / "p.jsonl", lines)
    errors = tmp_path / "e.jsonl"
    report = bulk.import_file(src, principal=operator(), dry_run=True, errors_path=errors)
    assert report.rejected == len(bad) and report.created == 500 - len(bad)
    assert len(errors.read_bytes().splitlines()) == len(bad)
    assert count(orgs, Person) == 0 and count(orgs, ImportRun) == 0


def test_agency_option_refuses_lines_outside(orgs: Session, tmp_path: Path) -> None:
    lines, _ = make_lines(300, bad_every=10_000)
    src = write_file(tmp_path / "p.jsonl", lines)
    errors = tmp_path / "e.jsonl"
    report = bulk.import_file(
        src, principal=operator("000.00.00.H41"), agency="000.00.00.H41", errors_path=errors
    )
    outside = [orjson.loads(x) for x in errors.read_bytes().splitlines()]
    assert outside and {r["code"] for r in outside} == {"out_of_scope"}
    assert report.rejected == len(outside)
    agencies = set(orgs.execute(select(Person.managing_agency_code)).scalars())
    assert agencies == {"000.00.00.H41"}


def test_jsonl_export_import_round_trip(orgs: Session, tmp_path: Path) -> None:
    lines, _ = make_lines(400, bad_every=10_000)
    line = dossier_line(pid="040085777777")
    line["concurrent_posts"] = [
        {"unit_code": "000.00.00.H40.S05", "title": "Kiêm nhiệm", "start_date": "2024-01-01"}
    ]
    lines.append(orjson.dumps(line))
    bulk.import_file(write_file(tmp_path / "in.jsonl", lines), principal=operator())
    first = export_bytes(orgs)
    assert first.count(b"\n") == 401
    wipe_people(orgs)
    bulk.import_file(
        write_file(tmp_path / "export.jsonl", first.splitlines()), principal=operator()
    )
    assert export_bytes(orgs) == first


def test_xlsx_export_import_round_trip(orgs: Session, tmp_path: Path) -> None:
    lines, _ = make_lines(120, bad_every=10_000)
    rich = dossier_line(
        pid="040085888888",
        state_honorary_title_codes=["NGND", "NGUT"],
        declarant_confirmed=True,
        date_of_birth="1985",
        family_own_side=[
            {"relationship_code": "CHA", "full_name": "NGUYỄN VĂN BA", "birth_year": 1955}
        ],
    )
    lines.append(orjson.dumps(rich))
    bulk.import_file(write_file(tmp_path / "in.jsonl", lines), principal=operator())
    first = export_bytes(orgs)
    with unit_of_work() as session:
        xlsx_format.write_xlsx(
            tmp_path / "out.xlsx", bulk.export_records(session, principal=operator())
        )
    wipe_people(orgs)
    errors = tmp_path / "x_errors.jsonl"
    report = bulk.import_file(tmp_path / "out.xlsx", principal=operator(), errors_path=errors)
    assert report.rejected == 0, errors.read_text()
    assert export_bytes(orgs) == first


def test_xlsx_bad_rows_are_reported_with_row_and_sheet(orgs: Session, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    bulk.import_file(
        write_file(tmp_path / "in.jsonl", make_lines(20, bad_every=10_000)[0]), principal=operator()
    )
    with unit_of_work() as session:
        xlsx_format.write_xlsx(
            tmp_path / "out.xlsx", bulk.export_records(session, principal=operator())
        )
    wipe_people(orgs)
    wb = load_workbook(tmp_path / "out.xlsx")
    ws = wb["ho_so"]
    codes = [c.value for c in ws[1]]
    ws.cell(row=4, column=codes.index("salary_step") + 1, value="bốn")
    wh = wb["work_history"]
    wh.append(["999999999999", "2001-01", None, "Không có ai", "Không"])
    wb.save(tmp_path / "bad.xlsx")
    errors = tmp_path / "e.jsonl"
    report = bulk.import_file(tmp_path / "bad.xlsx", principal=operator(), errors_path=errors)
    rows = [orjson.loads(x) for x in errors.read_bytes().splitlines()]
    assert report.rejected == 2
    assert {(r["row"], r["sheet"], r["field"]) for r in rows} >= {(4, "ho_so", "salary_step")}
    assert any(r["sheet"] == "work_history" for r in rows)


def test_template_has_vietnamese_labels(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    xlsx_format.write_template(tmp_path / "mau.xlsx")
    wb = load_workbook(tmp_path / "mau.xlsx", read_only=True)
    assert {"ho_so", "work_history", "huong_dan", "danh_muc"} <= set(wb.sheetnames)
    rows = list(wb["ho_so"].iter_rows(min_row=1, max_row=2, values_only=True))
    wb.close()  # read-only workbooks keep the file open
    labels = dict(zip(rows[0], rows[1], strict=True))
    assert labels["birth_name"] == "Họ và tên khai sinh (viết chữ in hoa)"
    assert labels["personal_id"] == "Số CCCD"


def _approve_line(line: dict[str, Any], name: str = "Trần Thị Bình") -> dict[str, Any]:
    """Attach a real approval by the vectors' official (a personal certificate of H41)."""
    from exchange_vectors import signer  # type: ignore[import-not-found]
    from hoso.exchange import jws
    from hoso.people.canonical import content_hash
    from hoso.people.validation import get_validator

    digest = content_hash(get_validator().check_line(line).data)
    line["content_hash"] = digest
    line["approval"] = {
        "approved_by": {"personal_id": "040180001234", "name": name, "title": "Giám đốc Sở Nội vụ"},
        "approved_at": "2026-11-20T02:00:00Z",
        "signature": jws.sign_detached(signer("official"), digest.encode("ascii")),
    }
    return line


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectors' CA is this node's trust anchor."""
    from exchange_vectors import PKI  # type: ignore[import-not-found]
    from hoso.config import get_settings

    monkeypatch.setenv("HOSO_TRUST_ANCHORS", str(PKI / "ca.crt.pem"))
    get_settings.cache_clear()


def test_approved_export_lines_are_verified(orgs: Session, tmp_path: Path, trusted: None) -> None:
    good = _approve_line(dossier_line(pid="040085777771"))
    forged = _approve_line(dossier_line(pid="040085777772"))
    forged["data"]["salary_step"] = 9  # changed after approval, hash recomputed by the forger
    from hoso.people.canonical import content_hash
    from hoso.people.validation import get_validator

    forged["content_hash"] = content_hash(get_validator().check_line(forged).data)
    unsigned = dossier_line(pid="040085777773")
    unsigned["approval"] = {
        "approved_by": {"personal_id": "040180001234"},
        "approved_at": "2026-11-20T02:00:00Z",
        "signature": "x..y",
    }
    src = write_file(tmp_path / "a.jsonl", [orjson.dumps(x) for x in (good, forged, unsigned)])
    report = bulk.import_file(src, principal=operator())
    assert report.created == 1 and report.rejected == 2
    codes = {i.personal_id: i.code for i in orgs.execute(select(ImportIssue)).scalars()}
    assert codes == {"040085777772": "approval_invalid", "040085777773": "approval_invalid"}
    # The verified one is stored approved (approved version 1) and queued for the national node.
    from hoso.exchange.models import OutboxItem

    stored = orgs.execute(
        select(PersonVersion).join(Person).where(Person.personal_id == "040085777771")
    ).scalar_one()
    assert (stored.status, stored.approved_version) == ("QUEUED", 1)
    assert orgs.execute(select(OutboxItem.personal_id, OutboxItem.kind)).all() == [
        ("040085777771", "record")
    ]


def test_an_approval_without_trust_anchors_is_refused(
    orgs: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoso.config import get_settings

    monkeypatch.setenv("HOSO_TRUST_ANCHORS", "")
    get_settings.cache_clear()
    src = write_file(
        tmp_path / "b.jsonl", [orjson.dumps(_approve_line(dossier_line(pid="040085777774")))]
    )
    report = bulk.import_file(src, principal=operator())
    assert report.created == 0 and report.rejected == 1
    issue = orgs.execute(select(ImportIssue)).scalars().one()
    assert issue.code == "approval_unverifiable" and "HOSO_TRUST_ANCHORS" in issue.message_en


def test_backslashes_tabs_and_newlines_survive_the_copy(
    orgs: Session, tmp_path: Path, trusted: None
) -> None:
    tricky = 'Nguyễn\\Văn\tAn\nxuống dòng \\N "trích" \u2028 😀'
    line = dossier_line(
        pid="040085666666",
        other_names=tricky,
        work_strengths="C:\\hoso\\new\\table\\",
        work_history=[{"from": "2008-09", "unit": "Sở\tNội vụ\\", "title": "\\N"}],
    )
    _approve_line(line, name="Lê \\ Văn\tB")
    src = write_file(tmp_path / "t.jsonl", [orjson.dumps(line)])
    report = bulk.import_file(src, principal=operator())
    assert report.created == 1
    stored = orgs.execute(
        select(PersonVersion).join(Person).where(Person.personal_id == "040085666666")
    ).scalar_one()
    assert stored.data["other_names"] == tricky
    assert stored.data["work_strengths"] == "C:\\hoso\\new\\table\\"
    assert stored.data["work_history"][0] == {
        "from": "2008-09",
        "unit": "Sở\tNội vụ\\",
        "title": "\\N",
    }
    assert stored.approval == line["approval"]
    exported = orjson.loads(export_bytes(orgs))
    assert exported["data"]["other_names"] == tricky
    from hoso.people.canonical import content_hash

    assert exported["content_hash"] == content_hash(exported["data"])
