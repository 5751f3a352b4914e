"""``hoso demo federation``: two agency systems and the national database on localhost.

Everything is real: a test PKI (``hoso pki``), three SQLite databases, three ``hoso serve``
processes on ports ``base``, ``base + 1`` and ``base + 2``, each with its outbox sender.

1. The national node (Bộ Nội vụ, ``000.00.00.G09:csdlqg``) holds the whole generated org
   tree; each agency node holds its own subtree and sends it up (``orgtree.upsert``).
2. At each agency an HR officer's dossiers are submitted, verified by a second officer and
   approved in bulk by the approving official with the official's personal certificate
   (PKCS#12 here, a USB token in production); the approvals queue the records.
3. The senders push the records over HTTP (``records.upsert``, 1,000 per message), the
   national node verifies envelopes and approvals, stores them and answers signed acks.
4. The national node proposes a correction (sync back); the agency receives it.

``--check`` runs the flow, verifies every step and exits (the end-to-end test uses it);
without it the nodes keep running until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import typer
from rich.console import Console

console = Console()
NATIONAL = "000.00.00.G09"
NATIONAL_NODE = f"{NATIONAL}:csdlqg"
OFFICIAL_IDS = ("001080000101", "001080000202")


@dataclass
class NodeSpec:
    """One node of the federation."""

    name: str
    agency: str
    node_id: str
    role: str
    port: int
    db: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"


def _subtree(orgs: list[dict[str, Any]], root: str) -> list[dict[str, Any]]:
    children: dict[str, list[dict[str, Any]]] = {}
    for u in orgs:
        children.setdefault(str(u.get("parent_code")), []).append(u)
    out: list[dict[str, Any]] = []
    stack = [u for u in orgs if u["code"] == root]
    while stack:
        unit = stack.pop()
        out.append(unit)
        stack.extend(children.get(str(unit["code"]), []))
    return out


def _use(spec: NodeSpec) -> None:
    """Point this process's settings and engine at ``spec``'s node (its database, keys, trust)."""
    from hoso.config import get_settings
    from hoso.db import engine

    os.environ.update(spec.env)
    get_settings.cache_clear()
    engine.reset()


def setup(root: Path, people: int, base_port: int) -> tuple[list[NodeSpec], dict[str, str]]:
    """Create the PKI, the databases, users and approved dossiers; return the nodes and passwords."""
    from hoso.approval import service as approval_service
    from hoso.auth import service as auth_service
    from hoso.auth.principal import Principal, operator
    from hoso.auth.schemas import UserCreate
    from hoso.config import get_settings
    from hoso.db.engine import unit_of_work
    from hoso.db.migrate import upgrade
    from hoso.exchange import outbox, pki
    from hoso.generate.orgs import generate_orgs
    from hoso.generate.people import generate_people
    from hoso.orgs import service as orgs_service
    from hoso.orgs.schemas import OrgUnitIn
    from hoso.people import bulk

    root.mkdir(parents=True, exist_ok=True)
    orgs = [dict(u) for u in generate_orgs(seed=1)]
    lines = [line for line, _ in generate_people(max(4000, people * 12), 1, orgs=orgs)]
    top = [code for code, _ in Counter(str(x["managing_agency"]) for x in lines).most_common(2)]
    names = {str(u["code"]): str(u["name"]) for u in orgs}
    test_pki = pki.init_pki(
        root / "pki",
        agencies=[(code, names[code]) for code in top],
        national=(NATIONAL, "Bộ Nội vụ"),
        officials=[
            (code, pid, f"Lãnh đạo {names[code]}")
            for code, pid in zip(top, OFFICIAL_IDS, strict=True)
        ],
    )
    common = {
        "HOSO_ENV": "dev",
        "HOSO_TRUST_ANCHORS": str(test_pki.ca_cert_path),
        "HOSO_REVOKED_FILE": str(test_pki.revoked_path),
        "HOSO_SENDER_ENABLED": "true",
        "HOSO_SENDER_IDLE_SECONDS": "0.5",
        "HOSO_NATIONAL_NODE": NATIONAL_NODE,
    }
    national = NodeSpec(
        "CSDLQG", NATIONAL, NATIONAL_NODE, "national", base_port, root / "national.db"
    )
    agencies = [
        NodeSpec(
            names[code],
            code,
            f"{code}:hrm",
            "agency",
            base_port + 1 + i,
            root / f"agency{i + 1}.db",
        )
        for i, code in enumerate(top)
    ]
    nodes = [national, *agencies]
    for spec in nodes:
        issued = test_pki.nodes[spec.agency]
        spec.env = {
            **common,
            "HOSO_DATABASE_URL": f"sqlite:///{spec.db}",
            "HOSO_NODE_ID": spec.node_id,
            "HOSO_NODE_ROLE": spec.role,
            "HOSO_NODE_SIGNER": str(issued.p12_path),
            "HOSO_NODE_SIGNER_PASSWORD_FILE": str(issued.password_file),
            "HOSO_SECRET_KEY": secrets.token_urlsafe(24),
        }
    national.env["HOSO_PEERS"] = json.dumps({a.node_id: a.url for a in agencies})
    for a in agencies:
        a.env["HOSO_NATIONAL_URL"] = national.url

    passwords: dict[str, str] = {}
    # The national database: the whole org tree and an administrator.
    _use(national)
    upgrade(get_settings().database_url)
    with unit_of_work() as session:
        orgs_service.upsert_units(
            session, [OrgUnitIn.model_validate(u) for u in orgs], principal=operator()
        )
        passwords["quantri@CSDLQG"] = pw = secrets.token_urlsafe(9)
        auth_service.create(
            session,
            UserCreate(
                username="quantri",
                full_name="Quản trị CSDLQG",
                role="national_admin",
                org_unit_code=NATIONAL,
                password=pw,
            ),
            principal=operator(),
        )
    for i, spec in enumerate(agencies):
        _use(spec)
        upgrade(get_settings().database_url)
        subtree = _subtree(orgs, spec.agency)
        subtree[0] = {**subtree[0], "parent_code": None}
        with unit_of_work() as session:
            orgs_service.upsert_units(
                session, [OrgUnitIn.model_validate(u) for u in subtree], principal=operator()
            )
            # The agency's subtree goes up first, so the national tree hears of changes.
            outbox.enqueue_many(
                session,
                receiver=NATIONAL_NODE,
                kind="orgunit",
                items=[(None, None, u) for u in subtree],
            )
            for username, role, full_name, pid in (
                ("canbo", "hr_officer", "Cán bộ tổ chức", None),
                ("kiemtra", "hr_officer", "Cán bộ kiểm tra hồ sơ", None),
                ("pheduyet", "approver", f"Lãnh đạo {spec.name}", OFFICIAL_IDS[i]),
            ):
                passwords[f"{username}@{spec.agency}"] = pw = secrets.token_urlsafe(9)
                auth_service.create(
                    session,
                    UserCreate(
                        username=username,
                        full_name=full_name,
                        role=role,
                        org_unit_code=spec.agency,
                        password=pw,
                        personal_id=pid,
                    ),
                    principal=operator(),
                )
        mine = [x for x in lines if x["managing_agency"] == spec.agency][:people]
        people_file = root / f"people_{spec.agency}.jsonl"
        people_file.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in mine))
        clerk = Principal("canbo", "hr_officer", spec.agency)
        bulk.import_file(people_file, principal=clerk)
        checker = Principal("kiemtra", "hr_officer", spec.agency)
        settings = get_settings()
        with unit_of_work() as session:
            page = approval_service.list_pending(
                session, principal=clerk, status="DRAFT", limit=None
            )
            for item in page.items:
                approval_service.submit(session, personal_id=item.personal_id, principal=clerk)
        with unit_of_work() as session:
            page = approval_service.list_pending(
                session, principal=checker, status="SUBMITTED", limit=None
            )
            for item in page.items:
                approval_service.verify(
                    session, personal_id=item.personal_id, principal=checker, settings=settings
                )
        with unit_of_work() as session:
            official = auth_service.get_by_username(session, "pheduyet")
            assert official is not None
            approver = Principal("pheduyet", "approver", spec.agency, official.id)
            page = approval_service.list_pending(session, principal=approver, limit=None)
            report = approval_service.approve_with_signer(
                session,
                refs=page.items,
                signer=test_pki.official_signer(OFFICIAL_IDS[i]),
                title="Giám đốc Sở Nội vụ",
                principal=approver,
                trust=approval_service.trust_from_settings(settings),
                settings=settings,
            )
        console.print(f"{spec.name}: {len(mine)} hồ sơ, phê duyệt / approved {report.approved}")
    (root / "users.txt").write_text(
        "".join(f"{k:<32} {v}\n" for k, v in passwords.items()), encoding="utf-8"
    )
    (root / "nodes.json").write_text(
        json.dumps(
            [{"name": n.name, "node": n.node_id, "role": n.role, "url": n.url} for n in nodes],
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    return nodes, passwords


def _start(spec: NodeSpec, root: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSO_")} | spec.env
    log = (root / f"{spec.db.stem}.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hoso",
            "serve",
            "--port",
            str(spec.port),
            "--role",
            spec.role,
            "--sender",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_up(spec: NodeSpec, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{spec.name} exited with {proc.returncode}")
        try:
            if httpx.get(spec.url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{spec.name} did not start")


def _national_count(spec: NodeSpec) -> int:
    import sqlite3

    with sqlite3.connect(spec.db) as conn:
        return int(conn.execute("SELECT count(*) FROM national_record").fetchone()[0])


def _check_flow(
    nodes: list[NodeSpec], passwords: dict[str, str], people: int, timeout: float
) -> list[str]:
    """Wait for the records to arrive, propose a correction, wait for it at the agency."""
    import sqlite3

    national, agencies = nodes[0], nodes[1:]
    expected = people * len(agencies)
    deadline = time.monotonic() + timeout
    while _national_count(national) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    failures: list[str] = []
    got = _national_count(national)
    console.print(f"CSDLQG: {got}/{expected} hồ sơ đã nhận / records received")
    if got != expected:
        failures.append(f"national store has {got} of {expected} records")
        return failures
    for a in agencies:
        while time.monotonic() < deadline:
            with sqlite3.connect(a.db) as conn:
                left = dict(
                    conn.execute(
                        "SELECT status, count(*) FROM person_version GROUP BY status"
                    ).fetchall()
                )
            if set(left) == {"SYNCED"}:
                break
            time.sleep(0.5)
        else:
            failures.append(f"{a.name}: versions not all SYNCED: {left}")
    # Sync back: the national administrator proposes a birth-name correction.
    token = httpx.post(
        national.url + "/api/v1/auth/token",
        data={"username": "quantri", "password": passwords["quantri@CSDLQG"]},
        timeout=10,
    )
    if token.status_code != 200:
        failures.append(
            f"sign-in at the national node failed: {token.status_code} {token.text[:200]}"
        )
        return failures
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with sqlite3.connect(national.db) as conn:
        pid, name = conn.execute(
            "SELECT personal_id, birth_name FROM national_person WHERE managing_agency_code = ? ORDER BY personal_id LIMIT 1",
            (agencies[0].agency,),
        ).fetchone()
    proposed = name + " THỊ" if name else "NGUYỄN VĂN AN"
    made = httpx.post(
        national.url + "/api/v1/corrections",
        json=[{"personal_id": pid, "field": "birth_name", "proposed_value": proposed}],
        headers=headers,
        timeout=10,
    )
    if made.status_code != 200:
        failures.append(f"proposing a correction failed: {made.status_code} {made.text[:300]}")
        return failures
    while time.monotonic() < deadline:
        with sqlite3.connect(agencies[0].db) as conn:
            row = conn.execute(
                "SELECT status FROM correction WHERE side = 'agency' AND personal_id = ?", (pid,)
            ).fetchone()
        if row is not None:
            console.print(
                f"{agencies[0].name}: nhận đề xuất đính chính / correction received for {pid}"
            )
            break
        time.sleep(0.5)
    else:
        failures.append("the correction did not reach the agency")
    return failures


def run(root: Path, people: int, base_port: int, check: bool, timeout: float) -> int:
    """Set up, start the three nodes, run the flow; keep serving unless ``check``."""
    nodes, passwords = setup(root, people, base_port)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for spec in nodes:
            proc = _start(spec, root)
            procs.append(proc)
            _wait_up(spec, proc)
            console.print(
                f"{spec.role:<9} {spec.url}  {spec.node_id:<22} {spec.name}", soft_wrap=True
            )
        failures = _check_flow(nodes, passwords, people, timeout)
        for f in failures:
            console.print(f"[red]LỖI / FAILED: {f}[/red]")
        if check:
            console.print("FEDERATION OK" if not failures else "FEDERATION FAILED")
            return 1 if failures else 0
        console.print(f"\nTài khoản / accounts: {root / 'users.txt'}\nCtrl-C để dừng / to stop")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def command(
    directory: Path, people: int, base_port: int, check: bool, timeout: float, fresh: bool
) -> None:
    """Run the federation demo (``hoso demo federation``)."""
    import shutil

    if fresh and directory.exists():
        shutil.rmtree(directory)
    raise typer.Exit(code=run(directory, people, base_port, check, timeout))
