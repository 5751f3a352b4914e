"""The ``hoso`` command line: one Typer app over the same services as the API.

Commands run as the local operator with national scope unless ``--agency`` narrows it;
each runs inside one ``unit_of_work()``, prints a one-line summary when it writes, and exits
non-zero on failure.
"""

from __future__ import annotations

import typer

from hoso.approval.cli import app as approve_app
from hoso.auth.cli import app as users_app
from hoso.db.cli import app as db_app
from hoso.demo import app as demo_app
from hoso.exchange.cli import app as exchange_app
from hoso.exchange.pki_cli import app as pki_app
from hoso.generate.cli import app as generate_app
from hoso.orgs.cli import app as orgs_app
from hoso.people.cli import app as people_app
from hoso.population.cli import app as population_app
from hoso.quality.cli import app as quality_app

app = typer.Typer(
    name="hoso",
    help="Hồ sơ điện tử CBCCVC — CSDLQG về cán bộ, công chức, viên chức.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(people_app, name="people")
app.add_typer(users_app, name="users")
app.add_typer(generate_app, name="generate")
app.add_typer(demo_app, name="demo")
app.add_typer(exchange_app, name="exchange")
app.add_typer(pki_app, name="pki")
app.add_typer(approve_app, name="approve")
app.add_typer(quality_app, name="quality")
app.add_typer(population_app, name="population")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Địa chỉ lắng nghe / bind address"),
    port: int = typer.Option(8000, help="Cổng / port"),
    workers: int = typer.Option(1, help="Số tiến trình / worker processes"),
    role: str | None = typer.Option(
        None,
        "--role",
        help="agency | national | all: hệ thống của cơ quan, CSDLQG, hoặc cả hai / node role",
    ),
    sender_enabled: bool | None = typer.Option(
        None,
        "--sender/--no-sender",
        help="Chạy tiến trình gửi hộp thư đi / run the outbox sender in this process",
    ),
) -> None:
    """Chạy máy chủ web / serve the web app and the API."""
    import os

    import uvicorn

    if role is not None:
        if role not in ("agency", "national", "all"):
            raise typer.BadParameter("--role: agency | national | all")
        os.environ["HOSO_NODE_ROLE"] = role
    if sender_enabled is not None:
        os.environ["HOSO_SENDER_ENABLED"] = "true" if sender_enabled else "false"

    uvicorn.run(
        "hoso.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # Access logs would record URLs, which carry personal IDs.
        access_log=False,
    )
