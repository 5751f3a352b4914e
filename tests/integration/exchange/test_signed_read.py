"""An agency reads a person's approved record from the national node with a signed request;
other agencies and unsigned requests are refused; every read is audited."""

from __future__ import annotations

from collections.abc import Callable

from exchange_flow import AGENCY, seed_agency  # type: ignore[import-not-found]
from fastapi.testclient import TestClient
from sqlalchemy import select
from two_nodes import LoopbackTransport, Side, pump  # type: ignore[import-not-found]

from exchange_vectors import NATIONAL_NODE, agency_node, national_node, signer  # type: ignore[import-not-found]
from hoso.audit.models import AuditEvent
from hoso.db.engine import unit_of_work
from hoso.exchange.api import sign_request
from hoso.exchange.certificates import check_approval
from hoso.main import create_app
from hoso.people.canonical import content_hash


def test_signed_reads(
    fresh_db_url: str, _db_provider: object, use_database: Callable[[str], None]
) -> None:
    a_url, a_drop = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    use_database(fresh_db_url)  # the national node's database, served by the app below
    agency = Side.open(agency_node(national_url="loop://national"), a_url)
    national = Side.open(national_node(), fresh_db_url)
    try:
        with agency.sessions() as s:
            pids = seed_agency(s, 2)
        pump(agency, LoopbackTransport({NATIONAL_NODE: national}))
    finally:
        agency.engine.dispose()
        national.engine.dispose()
        a_drop()
    app = create_app()
    app.state.node = national_node()
    path = f"/exchange/v1/records/{pids[0]}"
    with TestClient(app) as client:
        ok = client.get(path, headers=sign_request(agency_node(), "GET", path))
        assert ok.status_code == 200, ok.text
        record = ok.json()
        assert record["personal_id"] == pids[0] and record["managing_agency"] == AGENCY
        assert record["approval"]["approved_by"]["personal_id"] == "040180001234"
        # What the store gives back is the record as signed: its data hashes to its content
        # hash and the approval (its certificate header stored apart) verifies over it.
        assert content_hash(record["data"]) == record["content_hash"]
        check_approval(
            record["approval"], record["content_hash"], AGENCY, trust=app.state.node.trust
        )
        # Thanh Hoa's node may not read Nghe An's people: 404, no data.
        other = agency_node(node_id="000.00.00.H38:hrm", signer=signer("other_agency"))
        refused = client.get(path, headers=sign_request(other, "GET", path))
        assert refused.status_code == 404 and "data" not in refused.text
        # A signature over another path does not open this one.
        replayed = client.get(
            path, headers=sign_request(agency_node(), "GET", f"/exchange/v1/records/{pids[1]}")
        )
        assert replayed.status_code == 401, (replayed.text[:300], path)
        assert client.get(path).status_code == 401
    with unit_of_work() as s:
        actions = [
            (e.actor, e.action)
            for e in s.execute(select(AuditEvent).where(AuditEvent.subject_id == pids[0])).scalars()
        ]
    assert ("000.00.00.H41:hrm", "national:record:read") in actions
    assert ("000.00.00.H38:hrm", "national:record:read_refused") in actions
