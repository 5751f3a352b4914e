"""The vectors through the national node's receiver, with a store: valid messages are
applied, every tampered one is refused with its code and changes nothing, a replay returns
the stored ack, a gap is refused with the expected sequence."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from joserfc import jws as jose_jws
from joserfc.jwk import ECKey
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from exchange_vectors import CLOCK, NATIONAL_NODE, load, manifest, national_node  # type: ignore[import-not-found]
from hoso.audit.service import verify_chain
from hoso.exchange import receiver
from hoso.exchange.models import (
    Correction,
    ExchangeStream,
    InboxMessage,
    NationalPerson,
    NationalRecord,
)
from hoso.orgs.models import OrgUnit

AGENCY = "000.00.00.H41"
TAMPERED = [e for e in manifest() if not e["valid"]]


def _set_next(session: Session, sender: str, sequence: int) -> None:
    """Make ``sequence`` the expected one of the stream (the manifest's "as if first")."""
    receiver._lock_stream(session, sender, NATIONAL_NODE)
    session.execute(
        update(ExchangeStream)
        .where(ExchangeStream.sender == sender, ExchangeStream.receiver == NATIONAL_NODE)
        .values(next_sequence=sequence)
    )


def _receive(session: Session, name: str, **kw: Any) -> receiver.Receipt:
    env = load(name)
    _set_next(session, env["sender"], env["sequence"])
    return receiver.receive(
        session, env, node=kw.pop("node", national_node()), transport="file", now=CLOCK, **kw
    )


def _snapshot(session: Session) -> tuple[Any, ...]:
    return (
        session.execute(
            select(NationalRecord.personal_id, NationalRecord.version, NationalRecord.content_hash)
        ).all(),
        session.execute(
            select(NationalPerson.personal_id, NationalPerson.version, NationalPerson.retired)
        ).all(),
        session.execute(select(func.count()).select_from(InboxMessage)).scalar(),
        session.execute(select(func.count()).select_from(Correction)).scalar(),
    )


@pytest.fixture
def national(session: Session) -> Session:
    """The national store knows the agency's units (from the orgtree vector)."""
    receipt = _receive(session, "orgtree_upsert.json")
    assert receipt.status == "accepted", receipt.ack
    assert (
        session.get(OrgUnit, 1) is not None
        or session.execute(select(OrgUnit).where(OrgUnit.code == AGENCY)).scalar()
    )
    return session


def test_valid_records_flow_and_acks_verify_independently(national: Session) -> None:
    r1 = _receive(national, "records_upsert.json")
    assert r1.status == "accepted"
    assert r1.ack["body"]["results"] == [
        {"personal_id": "040085012345", "version": 1, "status": "stored", "errors": []}
    ]
    r2 = _receive(national, "records_upsert_v2.json")
    assert r2.status == "accepted"
    person = national.get(NationalPerson, "040085012345")
    assert person is not None and person.version == 2
    r3 = _receive(national, "records_retire.json")
    assert r3.status == "accepted", r3.ack
    national.refresh(person)
    assert person.retired is not None and person.retired["reason_code"] == "retired"
    # The ack is a signed envelope that joserfc verifies with the national certificate.
    from hoso.exchange import envelope

    ack = dict(r1.ack)
    token = ack.pop("signature")
    from cryptography import x509

    from exchange_vectors import PKI  # type: ignore[import-not-found]

    leaf = x509.load_pem_x509_certificate((PKI / "national.crt.pem").read_bytes())
    registry = jose_jws.JWSRegistry(algorithms=["ES256"])
    registry.max_header_length = 16384
    jose_jws.deserialize_compact(
        token,
        ECKey.import_key(leaf.public_key()),
        registry=registry,
        payload=envelope.canonical(ack),
    )
    assert verify_chain(national) == (True, None)


@pytest.mark.parametrize("entry", TAMPERED, ids=[e["file"] for e in TAMPERED])
def test_tampered_is_refused_and_stores_nothing(national: Session, entry: dict[str, Any]) -> None:
    before_records = _snapshot(national)[:2]
    receipt = _receive(national, str(entry["file"]))
    assert receipt.status == "rejected"
    body = receipt.ack["body"]
    codes = (
        [body["error"]["code"]]
        if "error" in body
        else [e["code"] for r in body["results"] for e in r["errors"]]
    )
    assert codes[0] == entry["expected_error"], body
    assert _snapshot(national)[:2] == before_records


def test_replay_returns_the_stored_ack_and_changes_nothing(national: Session) -> None:
    first = _receive(national, "records_upsert.json")
    snap = _snapshot(national)
    again = receiver.receive(
        national, load("records_upsert.json"), node=national_node(), transport="file", now=CLOCK
    )
    assert again.replayed and again.ack == first.ack
    assert _snapshot(national) == snap


def test_a_gap_is_refused_with_the_expected_sequence(national: Session) -> None:
    env = load("records_upsert_v2.json")  # sequence 2, but the stream expects 1
    _set_next(national, env["sender"], 1)
    snap = _snapshot(national)
    receipt = receiver.receive(national, env, node=national_node(), transport="file", now=CLOCK)
    assert receipt.ack["body"]["error"]["code"] == "sequence_gap"
    assert receipt.ack["body"]["expected_sequence"] == 1
    assert receipt.http_status == 409
    assert _snapshot(national) == snap


def test_same_version_other_content_is_a_version_conflict(national: Session) -> None:
    assert _receive(national, "records_upsert.json").status == "accepted"
    # v2's record relabelled as version 1: signed content differs from the stored version 1.
    from exchange_vectors import signer  # type: ignore[import-not-found]
    from hoso.exchange import envelope

    env = load("records_upsert_v2.json")
    env.pop("signature")
    env = copy.deepcopy(env)
    env["body"]["records"][0]["version"] = 1
    env["id"] = envelope.new_id()
    signed = envelope.sign(env, signer("agency"))
    _set_next(national, env["sender"], env["sequence"])
    receipt = receiver.receive(national, signed, node=national_node(), transport="file", now=CLOCK)
    assert receipt.ack["body"]["results"][0]["errors"][0]["code"] == "version_conflict"
    assert national.get(NationalPerson, "040085012345").version == 1  # type: ignore[union-attr]


def test_unknown_agency(session: Session) -> None:
    # No org tree at all: the managing agency is unknown to the national store.
    receipt = _receive(session, "records_upsert.json")
    assert receipt.ack["body"]["results"][0]["errors"][0]["code"] == "unknown_agency"
    assert session.execute(select(func.count()).select_from(NationalRecord)).scalar() == 0


def test_another_agency_may_not_send_this_agencys_records(national: Session) -> None:
    from exchange_vectors import signer  # type: ignore[import-not-found]
    from hoso.exchange import envelope

    # Thanh Hoa's node sends Nghe An's record (the approval itself is valid).
    receiver._lock_stream(national, "000.00.00.H38:hrm", NATIONAL_NODE)
    env = load("records_upsert.json")
    env.pop("signature")
    env["sender"] = "000.00.00.H38:hrm"
    env["id"] = envelope.new_id()
    national.add(
        OrgUnit(
            code="000.00.00.H38",
            name="UBND tỉnh Thanh Hóa",
            kind="province",
            path="/000.00.00.H38/",
        )
    )
    national.flush()
    receipt = receiver.receive(
        national,
        envelope.sign(env, signer("other_agency")),
        node=national_node(),
        transport="file",
        now=CLOCK,
    )
    assert receipt.ack["body"]["results"][0]["errors"][0]["code"] == "not_authorised"
    assert national.execute(select(func.count()).select_from(NationalRecord)).scalar() == 0
