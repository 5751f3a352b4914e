"""``python -m hoso.popsim serve|seed|load``: the simulator's commands without hoso's CLI."""

from __future__ import annotations

import typer

from hoso.popsim.cli import register

app = typer.Typer(
    help="Mô phỏng CSDL quốc gia về dân cư / population-registry simulator",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register(app)

if __name__ == "__main__":
    app()
