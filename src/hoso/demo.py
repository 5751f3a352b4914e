"""``hoso demo``: a ready-to-try installation on embedded SQLite.

``hoso demo run`` migrates the database, loads a generated organisation tree and at least
20,000 generated people over more than 10 agencies (once; later runs reuse them), creates
demo users with printed passwords, and serves http://127.0.0.1:8000.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import orjson
import typer
from rich.console import Console
from sqlalchemy import func, select

from hoso.auth.principal import operator
from hoso.config import DEFAULT_VAR_DIR, get_settings
from hoso.db.engine import unit_of_work

app = typer.Typer(help="Dữ liệu và máy chủ trình diễn / demo data and server", no_args_is_help=True)
console = Console(stderr=True)

DEMO_SEED = 2026


def _demo_users(orgs: list[dict[str, object]]) -> list[dict[str, str]]:
    """Demo accounts: national roles at Bộ Nội vụ, provincial roles at the first province."""
    provinces = [u for u in orgs if u.get("kind") == "province" and not u.get("valid_to")]
    ministry = next((u for u in orgs if str(u["code"]).endswith("G09")), orgs[0])
    province = provinces[0] if provinces else orgs[0]
    pcode, mcode = str(province["code"]), str(ministry["code"])
    return [
        {
            "username": "quantri",
            "full_name": "Quản trị CSDLQG",
            "role": "national_admin",
            "org_unit_code": mcode,
        },
        {
            "username": "phantich",
            "full_name": "Chuyên viên phân tích",
            "role": "national_analyst",
            "org_unit_code": mcode,
        },
        {
            "username": "canbo",
            "full_name": f"Cán bộ TCCB {province['name']}",
            "role": "hr_officer",
            "org_unit_code": pcode,
        },
        {
            "username": "pheduyet",
            "full_name": f"Lãnh đạo phê duyệt {province['name']}",
            "role": "approver",
            "org_unit_code": pcode,
        },
        {
            "username": "quantricq",
            "full_name": f"Quản trị hệ thống {province['name']}",
            "role": "agency_admin",
            "org_unit_code": pcode,
        },
        {
            "username": "kiemtra",
            "full_name": "Thanh tra, kiểm tra",
            "role": "auditor",
            "org_unit_code": mcode,
        },
    ]


@app.command("load")
def load(
    count: int = typer.Option(20_000, "--count", help="Số người / number of people"),
    seed: int = typer.Option(DEMO_SEED, "--seed"),
) -> None:
    """Nạp dữ liệu trình diễn / load demo organisations, people and users (idempotent)."""
    from hoso.auth import service as auth_service
    from hoso.auth.models import User
    from hoso.auth.schemas import UserCreate
    from hoso.db.migrate import upgrade
    from hoso.generate.orgs import generate_orgs
    from hoso.generate.people import generate_people
    from hoso.orgs import service as orgs_service
    from hoso.orgs.schemas import OrgUnitIn
    from hoso.people import bulk
    from hoso.people.models import Person

    upgrade(get_settings().database_url)
    orgs = generate_orgs(seed=seed)
    with unit_of_work() as session:
        result = orgs_service.upsert_units(
            session, [OrgUnitIn.model_validate(u) for u in orgs], principal=operator()
        )
    console.print(
        f"Cơ cấu tổ chức: {result.created} đơn vị mới, {result.updated} cập nhật, "
        f"{result.unchanged} không đổi / org tree: {result.created} new, {result.updated} "
        f"updated, {result.unchanged} unchanged"
    )
    with unit_of_work() as session:
        have = session.execute(select(func.count()).select_from(Person)).scalar_one()
    if have < count:
        DEFAULT_VAR_DIR.mkdir(parents=True, exist_ok=True)
        people_file = DEFAULT_VAR_DIR / f"demo_people_{count}_{seed}.jsonl"
        if not people_file.exists():
            tmp = people_file.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                for line, _labels in generate_people(count, seed, orgs=orgs, defect_rate=0.05):
                    fh.write(orjson.dumps(line) + b"\n")
            tmp.rename(people_file)
        report = bulk.import_file(
            people_file,
            principal=operator(),
            errors_path=DEFAULT_VAR_DIR / "demo_import_errors.jsonl",
        )
        console.print(report.summary())
    _quality(console)
    passwords_file = DEFAULT_VAR_DIR / "demo_users.txt"
    lines = []
    with unit_of_work() as session:
        for spec in _demo_users(orgs):
            existing = session.execute(
                select(User).where(User.username == spec["username"])
            ).scalar()
            if existing is not None:
                continue
            password = secrets.token_urlsafe(9)
            auth_service.create(
                session, UserCreate(**spec, password=password), principal=operator()
            )
            lines.append(
                f"{spec['username']:<10} {password:<14} {spec['role']:<17} {spec['org_unit_code']}"
            )
    if lines:
        passwords_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    console.print(
        "\n[bold]Tài khoản trình diễn / demo accounts[/bold] (tên, mật khẩu, vai trò, đơn vị):"
    )
    console.print(
        Path(passwords_file).read_text(encoding="utf-8") if passwords_file.exists() else ""
    )


def _quality(console: Console) -> None:
    """A first quality run and cleaning proposals, so the quality pages have content."""
    from hoso.quality import cleaning
    from hoso.quality import service as quality_service

    with unit_of_work() as session:
        if quality_service.last_run(session, get_settings().quality_profile) is not None:
            return
        summary = quality_service.run(session, actor="demo", full=True)
        proposed = cleaning.propose(session, principal=operator())
    console.print(
        f"Kiểm tra chất lượng: {summary.records_checked:,} hồ sơ, {summary.findings:,} phát "
        f"hiện, {proposed.created:,} đề xuất làm sạch / quality run: "
        f"{summary.records_checked:,} records, {summary.findings:,} findings, "
        f"{proposed.created:,} cleaning proposals"
    )


@app.command("run")
def run(
    count: int = typer.Option(20_000, "--count", help="Số người / number of people"),
    port: int = typer.Option(8000, "--port"),
) -> None:
    """Chuẩn bị và chạy bản trình diễn / migrate, load and serve at http://127.0.0.1:8000."""
    load(count=count, seed=DEMO_SEED)
    import uvicorn

    console.print(f"Mở trình duyệt / open http://127.0.0.1:{port}")
    # No access log: URLs carry personal IDs.
    uvicorn.run(
        "hoso.main:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="info",
        access_log=False,
    )


@app.command("federation")
def federation_command(
    directory: Path = typer.Option(
        Path("var/federation"), "--dir", help="Thư mục dữ liệu / data folder"
    ),
    people: int = typer.Option(300, "--people", help="Số hồ sơ mỗi cơ quan / dossiers per agency"),
    base_port: int = typer.Option(8101, "--base-port", help="Cổng của CSDLQG; cơ quan: +1, +2"),
    check: bool = typer.Option(
        False, "--check", help="Chạy, kiểm tra rồi dừng / run, verify and stop"
    ),
    timeout: float = typer.Option(300.0, "--timeout"),
    fresh: bool = typer.Option(True, "--fresh/--keep", help="Xóa dữ liệu cũ / start from scratch"),
) -> None:
    """Hai hệ thống cơ quan và CSDLQG trao đổi dữ liệu / two agency nodes and the national node."""
    from hoso import federation

    federation.command(directory, people, base_port, check, timeout, fresh)
