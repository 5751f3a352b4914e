"""``hoso exchange export-batch`` / ``import-batch`` carry messages and acks on files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from exchange_flow import seed_agency  # type: ignore[import-not-found]
from sqlalchemy import func, select
from typer.testing import CliRunner

from exchange_vectors import NATIONAL_NODE, PKI  # type: ignore[import-not-found]
from hoso.cli import app
from hoso.config import get_settings
from hoso.db.engine import unit_of_work
from hoso.exchange.models import NationalRecord, OutboxMessage
from hoso.exchange.node import get_node

AGENCY_NODE = "000.00.00.H41:hrm"


def _as_node(mp: pytest.MonkeyPatch, tmp: Path, label: str, node_id: str, role: str) -> None:
    chain = tmp / f"{label}-chain.pem"
    chain.write_bytes((PKI / f"{label}.crt.pem").read_bytes() + (PKI / "ca.crt.pem").read_bytes())
    mp.setenv("HOSO_NODE_ID", node_id)
    mp.setenv("HOSO_NODE_ROLE", role)
    mp.setenv("HOSO_NODE_SIGNER", f"{PKI / f'{label}.key.pem'},{chain}")
    mp.setenv("HOSO_TRUST_ANCHORS", str(PKI / "ca.crt.pem"))
    get_settings.cache_clear()
    get_node.cache_clear()


def test_batch_files_round_trip(
    fresh_db_url: str,
    _db_provider: object,
    use_database: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    national_url, drop = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    runner = CliRunner()
    batch = tmp_path / "lo.jsonl"
    try:
        use_database(fresh_db_url)
        _as_node(monkeypatch, tmp_path, "agency", AGENCY_NODE, "agency")
        with unit_of_work() as s:
            seed_agency(s, 40)
        result = runner.invoke(
            app, ["exchange", "export-batch", "--to", NATIONAL_NODE, "--out", str(batch)]
        )
        assert result.exit_code == 0, result.output
        assert len(batch.read_bytes().splitlines()) == 2  # org tree, 40 records

        use_database(national_url)
        _as_node(monkeypatch, tmp_path, "national", NATIONAL_NODE, "national")
        result = runner.invoke(app, ["exchange", "import-batch", str(batch)])
        assert result.exit_code == 0, result.output
        assert result.output.count("\taccepted") == 2
        acks = tmp_path / "lo.ack.jsonl"
        assert [orjson.loads(x)["body"]["status"] for x in acks.read_bytes().splitlines()] == [
            "accepted"
        ] * 2
        again = runner.invoke(
            app, ["exchange", "import-batch", str(batch), "--acks", str(tmp_path / "again.jsonl")]
        )
        assert again.exit_code == 0 and (tmp_path / "again.jsonl").read_bytes() == acks.read_bytes()
        with unit_of_work() as s:
            assert s.execute(select(func.count()).select_from(NationalRecord)).scalar() == 40

        use_database(fresh_db_url)
        _as_node(monkeypatch, tmp_path, "agency", AGENCY_NODE, "agency")
        result = runner.invoke(app, ["exchange", "import-batch", str(acks)])
        assert result.exit_code == 0 and "2" in result.output, result.output
        with unit_of_work() as s:
            statuses = set(s.execute(select(OutboxMessage.status)).scalars())
        assert statuses == {"acked"}
    finally:
        get_node.cache_clear()
        drop()
