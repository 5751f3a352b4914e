"""``hoso demo``: a ready-to-try installation on embedded SQLite.

``hoso demo run`` migrates the database, loads a generated organisation tree and at least
20,000 generated people over more than 10 agencies (once; later runs reuse them), creates
demo users with printed passwords, and serves http://127.0.0.1:8000.

``hoso demo load`` does the loading, in this order, each step skipped when already done:

1. the org tree and the generated people (``var/demo_people_N_S.jsonl``, written once with
   the registry's true view of the same people and their defect labels beside it);
2. the population-registry simulator's database (``HOSO_POPSIM_DATABASE_URL``, default
   ``var/popsim.db``) seeded from that registry view (:func:`hoso.popsim.seed.seed`: the
   civil servants, three times as many other citizens, and the deliberate differences),
   when it holds no citizen yet;
3. a verification run (:func:`hoso.population.service.run_job`) over real HTTP against the
   simulator served on a free loopback port for the time of the run, unless a national run
   already completed; right after it, the probabilistic pass
   (:func:`hoso.population.linking.link_not_found`) of the dossiers still not found against
   an extract of the whole simulated registry (a few seconds at 20,000 people);
4. a quality run and cleaning proposals, after the match so that the registry rules
   (SACH-009/010/011, SONG-009) see its results; run again when the match was new;
5. the demo users.

``hoso demo run`` then serves the web app and, beside it in a thread, the simulator at the
address of ``HOSO_POPULATION_URL`` (default http://127.0.0.1:8100, with the demo's client
key ``HOSO_POPULATION_API_KEY`` accepted), so ``hoso population match`` from another shell
works while the demo runs; it stops with the web app.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import orjson
import typer
from rich.console import Console
from sqlalchemy import func, select

from hoso.auth.principal import operator
from hoso.config import DEFAULT_VAR_DIR, Settings, get_settings
from hoso.db.engine import unit_of_work

if TYPE_CHECKING:
    from hoso.generate.orgs import OrgUnitDict
    from hoso.popsim.server import BackgroundServer

app = typer.Typer(help="Dữ liệu và máy chủ trình diễn / demo data and server", no_args_is_help=True)
console = Console(stderr=True)

DEMO_SEED = 2026
DEFECT_RATE = 0.05
"""Share of generated people with a defect (the quality pages need some)."""


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
    var_dir: Path = typer.Option(
        DEFAULT_VAR_DIR, "--var-dir", help="Thư mục tệp trình diễn / folder of the demo files"
    ),
) -> None:
    """Nạp dữ liệu trình diễn / load demo organisations, people and users (idempotent)."""
    from hoso.auth import service as auth_service
    from hoso.auth.models import User
    from hoso.auth.schemas import UserCreate
    from hoso.db.migrate import upgrade
    from hoso.generate.orgs import generate_orgs
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
    var_dir.mkdir(parents=True, exist_ok=True)
    people_file, registry_file, labels_file = _demo_files(var_dir, count, seed, orgs)
    with unit_of_work() as session:
        have = session.execute(select(func.count()).select_from(Person)).scalar_one()
    if have < count:
        report = bulk.import_file(
            people_file,
            principal=operator(),
            errors_path=var_dir / "demo_import_errors.jsonl",
        )
        console.print(report.summary())
    matched = _population(console, registry_file, labels_file, seed=seed)
    _quality(console, again=matched)
    passwords_file = var_dir / "demo_users.txt"
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


def _demo_files(
    var_dir: Path, count: int, seed: int, orgs: list[OrgUnitDict]
) -> tuple[Path, Path, Path]:
    """The demo's people (bulk lines), the registry's view of them and their defect labels
    (the simulator's seed input), generated together once; later calls reuse them."""
    from hoso.generate.people import iter_people

    stem = f"demo_people_{count}_{seed}"
    files = (
        var_dir / f"{stem}.jsonl",
        var_dir / f"{stem}.registry.jsonl",
        var_dir / f"{stem}.labels.jsonl",
    )
    if all(f.exists() for f in files):
        return files
    parts = [f.with_name(f.name + ".part") for f in files]
    with parts[0].open("wb") as people, parts[1].open("wb") as reg, parts[2].open("wb") as lab:
        for line, labels, entry in iter_people(count, seed, orgs=orgs, defect_rate=DEFECT_RATE):
            people.write(orjson.dumps(line) + b"\n")
            for label in labels:
                lab.write(orjson.dumps(label) + b"\n")
            if entry is not None:
                reg.write(orjson.dumps(entry) + b"\n")
    for part, final in zip(parts, files, strict=True):
        os.replace(part, final)
    return files


def _popsim_settings(settings: Settings) -> Settings:
    """The simulator's settings for the demo: it also accepts the demo's client key."""
    keys = list(settings.popsim_api_keys)
    if settings.population_api_key not in keys:
        keys.append(settings.population_api_key)
    return settings.model_copy(update={"popsim_api_keys": keys})


def _population(console: Console, registry_file: Path, labels_file: Path, *, seed: int) -> bool:
    """Seed the simulator (once), then verify every dossier against it and link the ones it
    did not find (once: skipped when a national run completed). True when a run was made."""
    from hoso.popsim import service as popsim_service
    from hoso.popsim.api import Faults
    from hoso.popsim.load import vi_int
    from hoso.popsim.models import open_engine
    from hoso.popsim.seed import seed as seed_registry
    from hoso.popsim.server import BackgroundServer
    from hoso.population import service as population_service
    from hoso.population.client import RegistryClient

    settings = get_settings()
    engine = open_engine(settings.popsim_database_url)
    try:
        with engine.connect() as conn:
            citizens = popsim_service.count(conn)
        if citizens:
            console.print(
                f"CSDL dân cư mô phỏng đã có {vi_int(citizens)} công dân / the "
                f"registry simulator already holds {citizens:,} citizens"
            )
        else:
            seeded = seed_registry(
                engine, registry_file=registry_file, labels_file=labels_file, seed=seed
            )
            console.print(seeded.summary())
    finally:
        engine.dispose()

    with unit_of_work() as session:
        latest = population_service.latest_run(session)
        if latest is not None and latest.status == population_service.COMPLETED:
            return False
    # The simulator on a free port for the time of the run (the demo's own, fault-free:
    # HOSO_POPSIM_* faults apply to the one `hoso demo run` serves).
    with (
        BackgroundServer(settings=_popsim_settings(settings), faults=Faults()) as server,
        RegistryClient.from_settings(base_url=server.url) as client,
    ):
        report = population_service.run_job(
            client,
            actor="demo",
            registry_url=server.url,
            batch_size=settings.population_batch_size,
            registry_errors=lambda: list(client.stats.errors),
        )
    console.print(report.summary())
    _link(console, settings)
    return True


def _link(console: Console, settings: Settings) -> None:
    """The probabilistic pass of the dossiers still not found, against an extract of the
    whole simulated registry (read from its database into memory)."""
    import polars as pl

    from hoso.popsim import service as popsim_service
    from hoso.popsim.models import open_engine
    from hoso.population import linking

    engine = open_engine(settings.popsim_database_url)
    try:
        with engine.connect() as conn:
            rows = list(popsim_service.iter_citizens(conn))
    finally:
        engine.dispose()
    extract = pl.DataFrame(rows, infer_schema_length=None)
    del rows
    with unit_of_work() as session:
        report = linking.link_not_found(session, extract, actor="demo", settings=settings)
    from hoso.popsim.load import vi_int

    console.print(
        f"Ghép xác suất: {vi_int(report.records)} hồ sơ chưa tìm thấy, {vi_int(report.matched)} khớp, "
        f"{vi_int(report.potential)} cần duyệt / probabilistic link: {report.records:,} not found, "
        f"{report.matched:,} matched, {report.potential:,} potential matches"
    )


def _quality(console: Console, *, again: bool = False) -> None:
    """A first quality run and cleaning proposals, so the quality pages have content;
    ``again`` runs once more (new registry results for the registry rules)."""
    from hoso.quality import cleaning
    from hoso.quality import service as quality_service

    with unit_of_work() as session:
        previous = quality_service.last_run(session, get_settings().quality_profile)
        if previous is not None and not again:
            return
        summary = quality_service.run(session, actor="demo", full=True)
        proposed = cleaning.propose(session, principal=operator())
    from hoso.popsim.load import vi_int

    console.print(
        f"Kiểm tra chất lượng: {vi_int(summary.records_checked)} hồ sơ, {vi_int(summary.findings)} "
        f"phát hiện, {vi_int(proposed.created)} đề xuất làm sạch / quality run: "
        f"{summary.records_checked:,} records, {summary.findings:,} findings, "
        f"{proposed.created:,} cleaning proposals"
    )


@app.command("run")
def run(
    count: int = typer.Option(20_000, "--count", help="Số người / number of people"),
    port: int = typer.Option(8000, "--port"),
    popsim: bool = typer.Option(
        True,
        "--popsim/--no-popsim",
        help="Chạy cả CSDL dân cư mô phỏng tại HOSO_POPULATION_URL / also serve the simulator",
    ),
    var_dir: Path = typer.Option(
        DEFAULT_VAR_DIR, "--var-dir", help="Thư mục tệp trình diễn / folder of the demo files"
    ),
) -> None:
    """Chuẩn bị và chạy bản trình diễn / migrate, load and serve at http://127.0.0.1:8000."""
    load(count=count, seed=DEMO_SEED, var_dir=var_dir)
    import uvicorn

    registry = _serve_popsim(console) if popsim else None
    console.print(f"Mở trình duyệt / open http://127.0.0.1:{port}")
    try:
        # No access log: URLs carry personal IDs.
        uvicorn.run(
            "hoso.main:create_app",
            factory=True,
            host="127.0.0.1",
            port=port,
            log_level="info",
            access_log=False,
        )
    finally:
        if registry is not None:
            registry.stop()


def _serve_popsim(console: Console) -> BackgroundServer | None:
    """The simulator at the address of ``population_url`` in a thread, or None when that
    address is not on this machine or already taken (a simulator may already run there)."""
    from hoso.popsim.server import BackgroundServer

    settings = get_settings()
    address = urlsplit(settings.population_url)
    host, port = address.hostname or "", address.port or 80
    if host not in ("127.0.0.1", "localhost"):
        console.print(
            f"HOSO_POPULATION_URL={settings.population_url} không ở máy này: không chạy CSDL "
            "dân cư mô phỏng / not on this machine: the simulator is not started"
        )
        return None
    try:
        server = BackgroundServer(host="127.0.0.1", port=port, settings=_popsim_settings(settings))
    except OSError:
        console.print(
            f"Cổng {port} đang bận: dùng CSDL dân cư đang chạy ở đó / port {port} is taken: "
            "using whatever registry runs there"
        )
        return None
    server.start()
    console.print(
        f"CSDL dân cư mô phỏng / registry simulator: {server.url} "
        "(hoso population match đối chiếu với nó / matches against it)"
    )
    return server


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
