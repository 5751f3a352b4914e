"""Sync back between an agency node and the national node (two databases, loopback).

Records go up; the national side proposes a correction; the agency accepts one (a new
DRAFT version with the proposed value) and rejects another with a reason; the national
side sees both decisions. The national org tree goes down to the agency. The same flow
over batch files (export-batch / import-batch and the ack file) gives the same state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_flow import AGENCY, seed_agency  # type: ignore[import-not-found]
from sqlalchemy import func, select
from two_nodes import LoopbackTransport, Side, pump  # type: ignore[import-not-found]

from exchange_vectors import NATIONAL_NODE, agency_node, national_node  # type: ignore[import-not-found]
from hoso.auth.principal import operator
from hoso.errors import InvalidInput
from hoso.exchange import corrections, outbox, receiver, sender
from hoso.exchange.models import Correction, NationalRecord, OutboxMessage
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.people import service as people_service
from hoso.people.models import Person

AGENCY_NODE = "000.00.00.H41:hrm"


@pytest.fixture
def sides(_db_provider: object) -> Iterator[tuple[Side, Side]]:
    a_url, a_drop = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    n_url, n_drop = _db_provider.new(migrated=True)  # type: ignore[attr-defined]
    agency = Side.open(agency_node(national_url="loop://national"), a_url)
    national = Side.open(national_node(peers={AGENCY_NODE: "loop://agency"}), n_url)
    try:
        yield agency, national
    finally:
        agency.engine.dispose()
        national.engine.dispose()
        a_drop()
        n_drop()


def _transport(agency: Side, national: Side) -> LoopbackTransport:
    return LoopbackTransport({NATIONAL_NODE: national, AGENCY_NODE: agency})


def test_corrections_round_trip_and_orgtree_down(sides: tuple[Side, Side]) -> None:
    agency, national = sides
    with agency.sessions() as s:
        pids = seed_agency(s, 3)
    transport = _transport(agency, national)
    stats = pump(agency, transport)
    assert stats.records_synced == 3
    with national.sessions() as s:
        made = corrections.propose(
            s,
            [
                corrections.CorrectionIn(
                    pids[0],
                    "birth_name",
                    "NGUYỄN VĂN ÂN",
                    evidence={"registry_checked_at": "2026-11-30T01:00:00Z"},
                ),
                corrections.CorrectionIn(pids[1], "date_of_birth", "1985-03-15"),
            ],
            principal=operator(),
        )
        assert [m["current_value"] for m in made] == ["NGUYỄN VĂN AN", "1985-03-14"]
        # The national catalogue goes down too: a new unit under the province.
        s.add(
            OrgUnit(
                code=f"{AGENCY}.S99",
                name="Sở Thử nghiệm",
                kind="department",
                parent_code=AGENCY,
                path=f"/{AGENCY}/{AGENCY}.S99/",
            )
        )
        s.flush()
        units = orgs_service.export(s, principal=operator())["units"]
        outbox.enqueue_many(
            s, receiver=AGENCY_NODE, kind="orgunit", items=[(None, None, u) for u in units]
        )
    stats = pump(national, transport)
    assert stats.acked == 2, stats  # corrections.propose, orgtree.upsert
    with agency.sessions() as s:
        received = corrections.list_(s, principal=operator(), side="agency")
        assert {r["personal_id"] for r in received} == {pids[0], pids[1]}
        assert (
            s.execute(select(OrgUnit).where(OrgUnit.code == f"{AGENCY}.S99")).scalar_one().name
            == "Sở Thử nghiệm"
        )
        by_pid = {r["personal_id"]: r for r in received}
        corrections.resolve(
            s,
            by_pid[pids[0]]["correction_id"],
            decision="accepted",
            reason=None,
            principal=operator(),
            national_node=NATIONAL_NODE,
        )
        with pytest.raises(InvalidInput) as refused:
            corrections.resolve(
                s,
                by_pid[pids[1]]["correction_id"],
                decision="rejected",
                reason=" ",
                principal=operator(),
                national_node=NATIONAL_NODE,
            )
        assert refused.value.issues[0].field == "reason"
        corrections.resolve(
            s,
            by_pid[pids[1]]["correction_id"],
            decision="rejected",
            reason="Giấy khai sinh ghi ngày 14/3",
            principal=operator(),
            national_node=NATIONAL_NODE,
        )
        dossier = people_service.get_by_personal_id(s, pids[0], principal=operator())
        assert dossier.data["birth_name"] == "NGUYỄN VĂN ÂN"
        assert dossier.version == 2 and dossier.status == "DRAFT"  # needs a new approval
    stats = pump(agency, transport)
    assert stats.acked == 1
    with national.sessions() as s:
        rows = {
            c.personal_id: (c.status, c.reason) for c in s.execute(select(Correction)).scalars()
        }
        assert rows == {
            pids[0]: ("accepted", None),
            pids[1]: ("rejected", "Giấy khai sinh ghi ngày 14/3"),
        }
        # The accepted change is not in the national store until it is approved and synced.
        assert (
            s.execute(
                select(func.max(NationalRecord.version)).where(
                    NationalRecord.personal_id == pids[0]
                )
            ).scalar()
            == 1
        )


def test_retries_after_transport_failures_lose_and_duplicate_nothing(
    sides: tuple[Side, Side], monkeypatch: pytest.MonkeyPatch
) -> None:
    agency, national = sides
    with agency.sessions() as s:
        seed_agency(s, 1200)
    transport = LoopbackTransport({NATIONAL_NODE: national, AGENCY_NODE: agency}, fail_next=3)
    monkeypatch.setattr(sender, "BACKOFF_BASE", 0.0)  # retry at once
    failures = 0
    for _ in range(20):
        _did, stats = sender.send_once(
            agency.sessions, node=agency.node, receiver=NATIONAL_NODE, transport=transport
        )
        failures += stats.retries
    assert failures == 3
    with agency.sessions() as s:
        first = s.execute(select(OutboxMessage).order_by(OutboxMessage.sequence)).scalars().first()
        assert first is not None and first.attempts == 3
    with agency.sessions() as s:
        assert (
            s.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "acked")
            ).scalar()
            == 3
        )
    with national.sessions() as s:
        assert s.execute(select(func.count()).select_from(NationalRecord)).scalar() == 1200


def test_the_same_flow_over_batch_files(sides: tuple[Side, Side], tmp_path: Path) -> None:
    agency, national = sides
    with agency.sessions() as s:
        pids = seed_agency(s, 50)
    # The link is down: write a batch file, carry it, receive it, carry the acks back.
    with agency.sessions() as s:
        envelopes = list(sender.iter_pending_envelopes(s, node=agency.node, receiver=NATIONAL_NODE))
    assert [e["type"] for e in envelopes] == ["orgtree.upsert", "records.upsert"]
    acks = []
    for env in envelopes + envelopes:  # the file is imported twice: the second time is a replay
        with national.sessions() as s:
            acks.append(receiver.receive(s, env, node=national.node, transport="file").ack)
    assert acks[:2] == acks[2:]
    for ack in acks[:2]:
        with agency.sessions() as s:
            msg = s.get(OutboxMessage, ack["body"]["ack_of"])
            assert msg is not None
            sender.verify_ack(ack, msg, node=agency.node)
            sender.apply_ack(s, msg, ack, node=agency.node)
    with agency.sessions() as s:
        statuses = set(s.execute(select(Person.status)).scalars())
        assert statuses == {"SYNCED"}
    with national.sessions() as s:
        assert s.execute(select(func.count()).select_from(NationalRecord)).scalar() == len(pids)


def test_a_receiver_restored_from_an_old_backup_gets_everything_again(
    sides: tuple[Side, Side],
) -> None:
    """The national node loses its exchange state; the sender follows ``sequence_gap`` back."""
    from exchange_flow import approve_current, record_data, store_dossiers  # type: ignore[import-not-found]
    from sqlalchemy import delete

    from hoso.exchange.models import ExchangeStream, InboxMessage, NationalPerson

    agency, national = sides
    with agency.sessions() as s:
        pids = seed_agency(s, 30)
    transport = _transport(agency, national)
    pump(agency, transport)
    with national.sessions() as s:  # "restore" a backup taken before any message arrived
        for model in (NationalRecord, NationalPerson, InboxMessage, ExchangeStream):
            s.execute(delete(model))
    with agency.sessions() as s:
        store_dossiers(s, [record_data(i, step=7) for i in range(5)])
        approve_current(s, pids[:5])
    stats = pump(agency, transport)
    assert stats.gaps >= 1
    with national.sessions() as s:
        versions = sorted(
            s.execute(select(NationalRecord.personal_id, NationalRecord.version)).all()
        )
    assert len(versions) == 35 and versions.count((pids[0], 2)) == 1
