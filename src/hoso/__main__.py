"""Run the CLI with ``python -m hoso``."""

from hoso.cli import app

app()
