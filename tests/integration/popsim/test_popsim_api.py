"""The simulator's HTTP API in-process (TestClient) on its own database, both backends."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from popsim_support import HEADERS, KEY, NAMES, OTHER_KEY, citizen, write_jsonl
from sqlalchemy import Engine, event

from hoso.config import Settings
from hoso.popsim.api import Faults, create_app
from hoso.popsim.load import load

N = 40


def _settings(url: str, rate: float = 10_000.0) -> Settings:
    return Settings(
        popsim_database_url=url, popsim_api_keys=[KEY, OTHER_KEY], popsim_rate_per_second=rate
    )


@pytest.fixture
def people(popsim_engine: Engine, tmp_path: Path) -> list[dict[str, Any]]:
    """``N`` citizens loaded; every fifth has an old CMND, the third is deceased."""
    docs = [
        citizen(
            i,
            legacy_id_no=f"{100_000_000 + i:09d}" if i % 5 == 0 else None,
            status="deceased" if i == 3 else "alive",
            id_issue_date="2022-05-0" + str(1 + i % 9) if i % 2 else None,
        )
        for i in range(N)
    ]
    report = load(popsim_engine, write_jsonl(tmp_path / "people.jsonl", docs))
    assert report.stored == N and report.rejected == 0
    return docs


@pytest.fixture
def client(
    popsim_url: str, popsim_engine: Engine, people: list[dict[str, Any]]
) -> Iterator[TestClient]:
    """A client on an app over the loaded registry (no rate limit to speak of)."""
    with TestClient(create_app(_settings(popsim_url), engine=popsim_engine)) as c:
        yield c


def test_health_needs_no_key_and_counts(client: TestClient, people: list[dict[str, Any]]) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "citizens": len(people)}


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}])
def test_a_key_is_required(
    client: TestClient, people: list[dict[str, Any]], headers: dict[str, str]
) -> None:
    pid = people[0]["personal_id"]
    for r in (
        client.get(f"/v1/citizens/{pid}", headers=headers),
        client.post("/v1/citizens/verify", json={"personal_ids": [pid]}, headers=headers),
        client.get("/v1/citizens", params={"birth_name": NAMES[0]}, headers=headers),
        client.put("/v1/_faults", json={"down": True}, headers=headers),
    ):
        assert r.status_code == 401
        body = r.json()
        assert body["error"] == "unauthorized"
        vi, en = body["message"].split(" / ")
        assert "khoá truy cập" in vi and "API key" in en
    assert client.get(f"/v1/citizens/{pid}", headers={"X-Api-Key": OTHER_KEY}).status_code == 200


def test_lookup_by_personal_id(client: TestClient, people: list[dict[str, Any]]) -> None:
    for doc in people[:6]:
        r = client.get(f"/v1/citizens/{doc['personal_id']}", headers=HEADERS)
        assert r.status_code == 200
        assert r.json() == doc  # every field given, nothing else (absent fields left out)
    assert list(r.json())[:4] == ["personal_id", "birth_name", "date_of_birth", "sex"]


def test_lookup_unknown_and_malformed(client: TestClient) -> None:
    r = client.get("/v1/citizens/001099999999", headers=HEADERS)
    assert r.status_code == 404
    assert r.json() == {
        "error": "not_found",
        "message": "Không tìm thấy công dân / citizen not found",
    }
    r = client.get("/v1/citizens/12AB", headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_id"


def test_lookup_by_old_cmnd_returns_the_12_digit_citizen(
    client: TestClient, people: list[dict[str, Any]]
) -> None:
    doc = people[10]
    r = client.get(f"/v1/citizens/{doc['legacy_id_no']}", headers=HEADERS)
    assert r.status_code == 200
    assert r.json()["personal_id"] == doc["personal_id"]
    assert len(r.json()["personal_id"]) == 12
    assert client.get("/v1/citizens/100000001", headers=HEADERS).status_code == 404


def test_verify_keeps_the_order_asked(client: TestClient, people: list[dict[str, Any]]) -> None:
    asked = [
        people[7]["personal_id"],
        "001099999999",  # unknown
        people[5]["legacy_id_no"],  # old CMND
        "not-an-id",
        people[7]["personal_id"],  # twice
        people[0]["personal_id"],
    ]
    r = client.post("/v1/citizens/verify", json={"personal_ids": asked}, headers=HEADERS)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["query"] for x in results] == asked
    assert [x["found"] for x in results] == [True, False, True, False, True, True]
    assert [x["matched_by"] for x in results] == [
        "personal_id", None, "legacy_id_no", None, "personal_id", "personal_id",
    ]  # fmt: skip
    assert results[0]["citizen"] == people[7]
    assert results[2]["citizen"] == people[5]
    assert results[1]["citizen"] is None and results[3]["citizen"] is None
    assert results[3]["citizen"] is None
    deceased = client.post(
        "/v1/citizens/verify", json={"personal_ids": [people[3]["personal_id"]]}, headers=HEADERS
    ).json()["results"][0]
    assert deceased["citizen"]["status"] == "deceased"


def test_verify_1000_in_two_queries_and_refuses_1001(
    client: TestClient, popsim_engine: Engine, people: list[dict[str, Any]]
) -> None:
    known = [d["personal_id"] for d in people]
    legacy = [d["legacy_id_no"] for d in people if "legacy_id_no" in d]
    asked = (known + legacy + [f"002{i:09d}" for i in range(1000)])[:1000]
    statements: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(popsim_engine, "before_cursor_execute", count)
    try:
        r = client.post("/v1/citizens/verify", json={"personal_ids": asked}, headers=HEADERS)
    finally:
        event.remove(popsim_engine, "before_cursor_execute", count)
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 1000
    assert sum(x["found"] for x in results) == len(known) + len(legacy)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2

    r = client.post("/v1/citizens/verify", json={"personal_ids": [*asked, "x"]}, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["error"] == "too_many_ids"
    assert "1.000" in r.json()["message"] and "1,000" in r.json()["message"]


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'{"personal_ids": "001"}', b'{"personal_ids": [1, 2]}']
)
def test_verify_refuses_a_bad_body(client: TestClient, body: bytes) -> None:
    r = client.post(
        "/v1/citizens/verify",
        content=body,
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"


def test_search_by_name_date_and_sex(client: TestClient, people: list[dict[str, Any]]) -> None:
    target = people[6]
    # Case, spaces and Unicode form do not matter.
    messy = unicodedata.normalize("NFD", "  " + target["birth_name"].lower().replace(" ", "   "))
    r = client.get(
        "/v1/citizens",
        params={"birth_name": messy, "date_of_birth": target["date_of_birth"]},
        headers=HEADERS,
    )
    assert r.status_code == 200
    expected = [
        d for d in people
        if d["birth_name"] == target["birth_name"] and d["date_of_birth"] == target["date_of_birth"]
    ]  # fmt: skip
    assert r.json()["results"] == sorted(expected, key=lambda d: d["personal_id"])
    year = target["date_of_birth"][:4]
    r = client.get(
        "/v1/citizens",
        params={"birth_name": target["birth_name"], "date_of_birth": year, "sex": target["sex"]},
        headers=HEADERS,
    )
    got = [d["personal_id"] for d in r.json()["results"]]
    assert got == sorted(
        d["personal_id"]
        for d in people
        if d["birth_name"] == target["birth_name"]
        and d["date_of_birth"].startswith(year)
        and d["sex"] == target["sex"]
    )
    assert target["personal_id"] in got
    everyone = client.get(
        "/v1/citizens", params={"birth_name": NAMES[1], "limit": 100}, headers=HEADERS
    ).json()["results"]
    assert len(everyone) == len([d for d in people if d["birth_name"] == NAMES[1]])
    limited = client.get(
        "/v1/citizens", params={"birth_name": NAMES[1], "limit": 3}, headers=HEADERS
    ).json()["results"]
    assert limited == everyone[:3]
    wrong_sex = client.get(
        "/v1/citizens", params={"birth_name": NAMES[1], "sex": "M"}, headers=HEADERS
    ).json()["results"]
    assert wrong_sex == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"birth_name": "  "},
        {"birth_name": "A", "date_of_birth": "1985-13-01"},
        {"birth_name": "A", "date_of_birth": "85"},
        {"birth_name": "A", "sex": "X"},
        {"birth_name": "A", "limit": "0"},
        {"birth_name": "A", "limit": "many"},
    ],
)
def test_search_refuses_bad_parameters(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/v1/citizens", params=params, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"
    assert " / " in r.json()["message"]


def test_rate_limit_per_key_answers_429_with_retry_after(
    popsim_url: str, popsim_engine: Engine, people: list[dict[str, Any]]
) -> None:
    pid = people[0]["personal_id"]
    with TestClient(create_app(_settings(popsim_url, rate=2.0), engine=popsim_engine)) as c:
        codes = [c.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code for _ in range(3)]
        assert codes == [200, 200, 429]  # a burst of one second's worth, then refused
        r = c.get(f"/v1/citizens/{pid}", headers=HEADERS)
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert r.json()["error"] == "rate_limited"
        # Another key has its own bucket; health and the fault switch are not limited.
        assert c.get(f"/v1/citizens/{pid}", headers={"X-Api-Key": OTHER_KEY}).status_code == 200
        assert c.get("/v1/health").status_code == 200
        assert c.get("/v1/_faults", headers=HEADERS).status_code == 200
        time.sleep(0.6)  # 2 tokens a second: one is back
        assert c.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code == 200


def test_fault_down_at_start_up_and_switched_at_run_time(
    popsim_url: str, popsim_engine: Engine, people: list[dict[str, Any]]
) -> None:
    pid = people[0]["personal_id"]
    app = create_app(_settings(popsim_url), faults=Faults(down=True), engine=popsim_engine)
    with TestClient(app) as c:
        for r in (
            c.get("/v1/health"),
            c.get(f"/v1/citizens/{pid}", headers=HEADERS),
            c.post("/v1/citizens/verify", json={"personal_ids": [pid]}, headers=HEADERS),
        ):
            assert r.status_code == 503
            assert r.json()["error"] == "unavailable"
            assert r.headers["Retry-After"] == "1"
        r = c.put("/v1/_faults", json={"down": False}, headers=HEADERS)
        assert r.status_code == 200 and r.json()["down"] is False
        assert c.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code == 200
        assert c.put("/v1/_faults", json={"down": True}, headers=HEADERS).status_code == 200
        assert c.get("/v1/health").status_code == 503


def test_fault_error_rate(client: TestClient, people: list[dict[str, Any]]) -> None:
    pid = people[0]["personal_id"]
    assert client.put("/v1/_faults", json={"error_rate": 1.0}, headers=HEADERS).status_code == 200
    assert {client.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code for _ in range(5)} == {
        503
    }
    client.app.state.popsim.rng.seed(7)  # type: ignore[attr-defined]
    client.put("/v1/_faults", json={"error_rate": 0.5}, headers=HEADERS)
    codes = [client.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code for _ in range(200)]
    assert set(codes) == {200, 503}
    assert 60 <= codes.count(503) <= 140
    client.put("/v1/_faults", json={"error_rate": 0}, headers=HEADERS)
    assert client.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code == 200


def test_fault_latency_and_timeout(client: TestClient, people: list[dict[str, Any]]) -> None:
    pid = people[0]["personal_id"]
    r = client.put("/v1/_faults", json={"latency_ms": 300}, headers=HEADERS)
    assert r.json()["latency_ms"] == 300
    t0 = time.perf_counter()
    assert client.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code == 200
    assert time.perf_counter() - t0 >= 0.3
    client.put(
        "/v1/_faults",
        json={"latency_ms": 0, "timeout_rate": 1.0, "timeout_seconds": 0.5},
        headers=HEADERS,
    )
    t0 = time.perf_counter()
    assert client.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code == 200
    assert time.perf_counter() - t0 >= 0.5
    faults = client.put("/v1/_faults", json={"timeout_rate": 0}, headers=HEADERS).json()
    assert faults == {
        "latency_ms": 0,
        "timeout_rate": 0,
        "error_rate": 0,
        "down": False,
        "timeout_seconds": 0.5,
    }
    t0 = time.perf_counter()
    assert client.get(f"/v1/citizens/{pid}", headers=HEADERS).status_code == 200
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.parametrize(
    "body", [{"error_rate": 1.5}, {"latency_ms": -1}, {"down": "sometimes"}, {"speed": 1}]
)
def test_fault_switch_refuses_bad_values(client: TestClient, body: dict[str, Any]) -> None:
    r = client.put("/v1/_faults", json=body, headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"
    assert client.get("/v1/_faults", headers=HEADERS).json()["error_rate"] == 0


def test_messages_are_nfc_vietnamese_first(client: TestClient) -> None:
    bodies = [
        client.get("/v1/citizens/001099999999", headers=HEADERS).json(),
        client.get("/v1/citizens/001099999999").json(),
        client.get("/v1/citizens", headers=HEADERS).json(),
        client.post(
            "/v1/citizens/verify", json={"personal_ids": ["1"] * 1001}, headers=HEADERS
        ).json(),
    ]
    for body in bodies:
        message = body["message"]
        assert unicodedata.is_normalized("NFC", message)
        vi, en = message.split(" / ", 1)
        assert any(ord(ch) > 127 for ch in vi)  # Vietnamese, with diacritics, comes first
        assert en.isascii()
