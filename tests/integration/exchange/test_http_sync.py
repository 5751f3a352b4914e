"""An agency syncs approved dossiers to a real national node over HTTP (uvicorn subprocess).

The org tree goes first, then the records in messages of at most 1,000; every ack is
verified and applied (versions become SYNCED). A second version of some people follows;
the national store ends equal to the agency's approved state.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from exchange_flow import approve_current, record_data, seed_agency, store_dossiers  # type: ignore[import-not-found]
from sqlalchemy import create_engine, func, select, text

from exchange_vectors import NATIONAL_NODE, PKI, agency_node  # type: ignore[import-not-found]
from hoso.db.engine import unit_of_work
from hoso.exchange import sender
from hoso.exchange.models import OutboxMessage
from hoso.people.models import PersonVersion, VersionStatus

pytestmark = pytest.mark.slow


@pytest.fixture
def national_server(tmp_path: Path, _db_provider: object) -> Iterator[tuple[str, str]]:
    """A national node in a uvicorn subprocess on its own fresh database: (base URL, DB URL)."""
    url, drop = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    chain = tmp_path / "national-chain.pem"
    chain.write_bytes((PKI / "national.crt.pem").read_bytes() + (PKI / "ca.crt.pem").read_bytes())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    env = {
        **os.environ,
        "HOSO_DATABASE_URL": url,
        "HOSO_ENV": "test",
        "HOSO_NODE_ROLE": "national",
        "HOSO_NODE_ID": NATIONAL_NODE,
        "HOSO_NODE_SIGNER": f"{PKI / 'national.key.pem'},{chain}",
        "HOSO_TRUST_ANCHORS": str(PKI / "ca.crt.pem"),
    }
    log = tmp_path / "national.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "hoso.main:create_app",
                "--fd",
                str(sock.fileno()),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"national node did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield base, url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        sock.close()
        drop()


def _national_state(url: str) -> set[tuple[str, int, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT personal_id, version, content_hash FROM national_record")
            ).all()
    finally:
        engine.dispose()
    return {(r[0], r[1], r[2]) for r in rows}


def _agency_state() -> set[tuple[str, int, str]]:
    from hoso.people.models import Person

    with unit_of_work() as session:
        rows = session.execute(
            select(Person.personal_id, PersonVersion.approved_version, PersonVersion.content_hash)
            .join(Person, Person.id == PersonVersion.person_id)
            .where(PersonVersion.approved_version.is_not(None))
        ).all()
    return {(r[0], r[1], r[2]) for r in rows}


def test_records_flow_to_the_national_node_over_http(
    national_server: tuple[str, str], fresh_db_url: str, use_database: Callable[[str], None]
) -> None:
    base, national_url = national_server
    use_database(fresh_db_url)
    with unit_of_work() as session:
        pids = seed_agency(session, 1500)
    node = agency_node(national_url=base)
    with sender.HttpTransport() as transport:
        stats = sender.run(
            unit_of_work, node=node, transport=transport, stop=threading.Event(), until_idle=True
        )
    assert stats.records_synced == 1500 and stats.records_rejected == 0
    assert stats.acked == 3  # org tree, 1,000 records, 500 records
    # A second approved version of 10 people.
    with unit_of_work() as session:
        store_dossiers(session, [record_data(i, step=6) for i in range(10)])
        approve_current(session, pids[:10])
    with sender.HttpTransport() as transport:
        stats = sender.run(
            unit_of_work, node=node, transport=transport, stop=threading.Event(), until_idle=True
        )
    assert stats.records_synced == 10
    assert _national_state(national_url) == _agency_state()
    with unit_of_work() as session:
        statuses = dict(
            session.execute(
                select(PersonVersion.status, func.count()).group_by(PersonVersion.status)
            ).all()
        )
        assert statuses == {VersionStatus.SYNCED: 1510}
        acks = (
            session.execute(select(OutboxMessage.ack).where(OutboxMessage.status == "acked"))
            .scalars()
            .all()
        )
        assert len(acks) == 4
    # Every stored ack verifies as the national node's signed envelope.
    from hoso.exchange import envelope

    for ack_text in acks:
        import orjson

        ack = orjson.loads(ack_text)
        verified = envelope.verify(
            ack, trust=node.trust, now=envelope.utc_now(), window=dt.timedelta(days=1)
        )
        assert verified.sender == NATIONAL_NODE


def test_a_down_national_node_is_retried_and_nothing_is_lost(
    fresh_db_url: str, use_database: Callable[[str], None]
) -> None:
    use_database(fresh_db_url)
    with unit_of_work() as session:
        seed_agency(session, 5)
    # Nothing listens on this port: connection refused, backoff recorded, message kept.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    node = agency_node(national_url=f"http://127.0.0.1:{port}")
    with sender.HttpTransport() as transport:
        did, stats = sender.send_once(
            unit_of_work, node=node, receiver=NATIONAL_NODE, transport=transport
        )
    assert not did and stats.retries == 1 and stats.last_error
    with unit_of_work() as session:
        msg = session.execute(select(OutboxMessage)).scalars().first()
        assert (
            msg is not None
            and msg.status == "pending"
            and msg.attempts == 1
            and msg.next_attempt_at is not None
        )
