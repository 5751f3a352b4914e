"""Every vector of ``exchange/vectors/manifest.json`` gives the verdict the manifest states,
without a store; canonical bytes and hashes equal the shipped ``.jcs`` files."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from typer.testing import CliRunner

from exchange_vectors import CLOCK, PKI, VECTORS, load, manifest, trust  # type: ignore[import-not-found]
from hoso.cli import app
from hoso.exchange import envelope
from hoso.exchange.verify import Verifier
from hoso.people.canonical import content_hash

ENTRIES = manifest()


def _verifier() -> Verifier:
    v = Verifier(trust=trust(), at=CLOCK)
    # Retirements are checked against record hashes seen before: feed the upserts first.
    for name in ("records_upsert.json", "records_upsert_v2.json"):
        assert v.check(load(name), name).ok
    return v


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_vector_verdict(entry: dict[str, object]) -> None:
    outcome = _verifier().check(load(str(entry["file"])), str(entry["file"]))
    if entry["valid"]:
        assert outcome.ok, [e.as_dict() for e in outcome.errors]
        assert not outcome.notes
    else:
        assert not outcome.ok
        assert outcome.errors[0].code == entry["expected_error"]
        assert outcome.errors[0].message_vi and outcome.errors[0].message_en


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e["valid"]], ids=lambda e: e["file"])
def test_canonical_bytes_equal_the_shipped_jcs(entry: dict[str, object]) -> None:
    env = load(str(entry["file"]))
    env.pop("signature")
    jcs = (VECTORS / str(entry["canonical"])).read_bytes()
    assert envelope.canonical(env) == jcs
    assert envelope.canonical_strict(env) == jcs
    assert bytes(rfc8785.dumps(env)) == jcs
    assert hashlib.sha256(jcs).hexdigest() == entry["sha256"]


def test_canonical_with_data_embeds_each_data_once_and_gives_the_same_bytes() -> None:
    env = {k: v for k, v in load("records_upsert.json").items() if k != "signature"}
    records = env["body"]["records"]
    odd = [*records, {"personal_id": "x", "data": ["not", "an", "object"]}, "not a record"]
    for body in ({"records": records}, {"records": odd}):
        unsigned = {**env, "body": body}
        payload, pieces = envelope.canonical_with_data(unsigned)
        assert payload == envelope.canonical(unsigned) == envelope.canonical_strict(unsigned)
        assert pieces is not None and len(pieces) == len(body["records"])
        for record, piece in zip(body["records"], pieces, strict=True):
            data = record.get("data") if isinstance(record, dict) else None
            if isinstance(data, dict):
                assert piece == bytes(rfc8785.dumps(data))
            else:
                assert piece is None
    other = {**env, "type": "records.retire"}
    assert envelope.canonical_with_data(other) == (envelope.canonical(other), None)


def test_record_content_hash_matches_the_manifest() -> None:
    note = next(
        e for e in json.loads((VECTORS / "manifest.json").read_text()) if "record_content_hash" in e
    )
    data = load("records_upsert.json")["body"]["records"][0]["data"]
    assert content_hash(data) == note["record_content_hash"]
    assert note["record_content_hash"] == "sha256:" + note["record_data_jcs_sha256"]


def test_retirement_of_an_unseen_version_is_not_called_verified() -> None:
    outcome = Verifier(trust=trust(), at=CLOCK).check(load("records_retire.json"), "x")
    assert outcome.ok and outcome.notes  # the note says the approval could not be checked


def test_clock_outside_the_window_is_too_old() -> None:
    import datetime as dt

    late = Verifier(trust=trust(), at=CLOCK + dt.timedelta(days=8))
    outcome = late.check(load("records_upsert.json"), "x")
    assert [e.code for e in outcome.errors] == ["too_old"]


def test_cli_verify_prints_ok_or_the_code_and_exits_accordingly() -> None:
    runner = CliRunner()
    good = [
        str(VECTORS / n)
        for n in (
            "records_upsert.json",
            "records_upsert_v2.json",
            "records_retire.json",
            "ack.json",
        )
    ]
    result = runner.invoke(
        app,
        [
            "exchange",
            "verify",
            *good,
            "--trust",
            str(PKI / "ca.crt.pem"),
            "--at",
            "2026-11-23T07:15:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("\tok") == 4
    bad = str(VECTORS / "tampered" / "signed_by_other_agency.json")
    result = runner.invoke(
        app,
        [
            "exchange",
            "verify",
            good[0],
            bad,
            "--trust",
            str(PKI / "ca.crt.pem"),
            "--at",
            "2026-11-23T07:15:00Z",
        ],
    )
    assert result.exit_code == 1
    assert "signed_by_other_agency.json\tsender_mismatch" in result.output
    assert "records_upsert.json\tok" in result.output


def test_cli_verify_reads_a_batch_file(tmp_path: object) -> None:
    from pathlib import Path

    batch = Path(str(tmp_path)) / "batch.jsonl"
    lines = [
        json.dumps(load(n), ensure_ascii=False)
        for n in ("records_upsert.json", "tampered/nfd_name.json")
    ]
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "exchange",
            "verify",
            str(batch),
            "--trust",
            str(PKI / "ca.crt.pem"),
            "--at",
            "2026-11-23T07:15:00Z",
        ],
    )
    assert result.exit_code == 1
    assert "batch.jsonl:1\tok" in result.output
    assert "batch.jsonl:2\tschema_invalid" in result.output
