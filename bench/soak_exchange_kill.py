"""Crash soak of the exchange: sync N approved records while SIGKILLing sender and receiver.

    .venv/bin/python bench/soak_exchange_kill.py [--records 100000] [--kills 20]
        [--backend postgresql|sqlite] [--message-size 1000] [--seed 7]

An agency database is seeded with N approved, queued dossiers (the vector record with N
personal IDs, each approval signed with an official's personal certificate). The national
node (``hoso serve --role national``) and the agency's sender (``hoso exchange send
--forever``) run as real processes; at random moments one of them is killed with SIGKILL
and started again, at least ``--kills`` times. At the end the national store must equal
the agency's approved state (same people, versions and content hashes), the message
sequences on both sides must run 1..M without gaps or duplicates, every stored ack must
verify as the national node's signature, every version must be SYNCED, and both audit
chains must be intact. Prints each kill and the verdict; exits non-zero on a mismatch.

The suite runs a small version (tests/integration/exchange/test_exchange_kill.py) with
``--agency-url/--national-url`` pointing at its own databases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "exchange"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

AGENCY_NODE = "000.00.00.H41:hrm"
NATIONAL_NODE = "000.00.00.G09:csdlqg"


def _official(tmp: Path) -> tuple[Any, dict[str, str]]:
    """An EC personal certificate for the vector official, issued by the vectors' test CA.

    EC signs in microseconds, so seeding 100,000 approvals takes seconds; the receiver
    verifies ES256 as it does RS256.
    """
    sys.path.insert(0, str(ROOT / "tests" / "data" / "exchange"))
    import make_vectors as mv  # type: ignore[import-not-found]
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from exchange_vectors import PKI  # type: ignore[import-not-found]
    from hoso.exchange.signing import KeySigner

    ca = x509.load_pem_x509_certificate((PKI / "ca.crt.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((PKI / "ca.key.pem").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = mv.make_cert(
        mv.name("Trần Thị Bình", "UBND tỉnh Nghệ An", "000.00.00.H41", personal_id="040180001234"),
        key,
        ca.subject,
        ca_key,
        ca=False,
        not_before=start,
        not_after=start + dt.timedelta(days=1095),
        serial=int.from_bytes(os.urandom(8), "big"),
        personal=True,
    )
    by = {"personal_id": "040180001234", "name": "Trần Thị Bình", "title": "Giám đốc Sở Nội vụ"}
    return KeySigner(key, [cert, ca]), by


def _engine(url: str) -> Any:
    from hoso.db.engine import make_engine

    return make_engine(url)


def seed(agency_url: str, national_url: str, records: int, tmp: Path) -> None:
    """Migrate both databases and seed the agency with ``records`` approved dossiers."""
    from exchange_flow import seed_agency  # type: ignore[import-not-found]

    from hoso.db import engine as engine_mod
    from hoso.db.migrate import upgrade

    upgrade(agency_url)
    upgrade(national_url)
    os.environ["HOSO_DATABASE_URL"] = agency_url
    from hoso.config import get_settings

    get_settings.cache_clear()
    engine_mod.reset()
    official, by = _official(tmp)
    t0 = time.perf_counter()
    with engine_mod.unit_of_work() as session:
        seed_agency(session, records, official=official, approved_by=by)
    engine_mod.reset()
    print(f"seeded {records:,} approved dossiers in {time.perf_counter() - t0:.1f} s", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A restartable child process."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.cmd, self.env, self.log = name, cmd, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def wait_ready(self, url: str | None, timeout: float = 60.0) -> None:
        """Block until the process answers ``url`` (a server) or has run a moment (a worker)."""
        import httpx

        if url is None:
            time.sleep(0.5)
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _progress(agency: Any, national: Any) -> tuple[int, int]:
    from sqlalchemy import text

    with national.connect() as c:
        stored = c.execute(text("SELECT count(*) FROM national_record")).scalar_one()
    with agency.connect() as c:
        pending = (
            c.execute(
                text("SELECT count(*) FROM outbox_item WHERE message_id IS NULL")
            ).scalar_one()
            + c.execute(
                text("SELECT count(*) FROM outbox_message WHERE status = 'pending'")
            ).scalar_one()
        )
    return int(stored), int(pending)


def verify(agency_url: str, national_url: str, node: Any) -> list[str]:
    """Every end-state check; returns the failures (empty when all hold)."""
    import orjson
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from hoso.audit.service import verify_chain
    from hoso.exchange import sender
    from hoso.exchange.models import InboxMessage, NationalRecord, OutboxMessage
    from hoso.people.models import Person, PersonVersion, VersionStatus

    failures: list[str] = []
    a_engine, n_engine = _engine(agency_url), _engine(national_url)
    with Session(a_engine) as a, Session(n_engine) as n:
        approved = set(
            a.execute(
                select(
                    Person.personal_id, PersonVersion.approved_version, PersonVersion.content_hash
                )
                .join(Person, Person.id == PersonVersion.person_id)
                .where(PersonVersion.approved_version.is_not(None))
            ).all()
        )
        stored_rows = n.execute(
            select(NationalRecord.personal_id, NationalRecord.version, NationalRecord.content_hash)
        ).all()
        stored = set(stored_rows)
        if len(stored_rows) != len(stored):
            failures.append("duplicate rows in national_record")
        if {tuple(r) for r in approved} != {tuple(r) for r in stored}:
            failures.append(
                f"national store differs: {len(approved)} approved vs {len(stored)} stored"
            )
        statuses = dict(
            a.execute(
                select(PersonVersion.status, func.count()).group_by(PersonVersion.status)
            ).all()
        )
        if set(statuses) != {VersionStatus.SYNCED}:
            failures.append(f"agency version statuses {statuses}")
        out_seqs = [
            m.sequence
            for m in a.execute(select(OutboxMessage).order_by(OutboxMessage.sequence)).scalars()
        ]
        in_seqs = list(
            n.execute(
                select(InboxMessage.sequence)
                .where(InboxMessage.sender == AGENCY_NODE)
                .order_by(InboxMessage.sequence)
            ).scalars()
        )
        if out_seqs != list(range(1, len(out_seqs) + 1)):
            failures.append("outbox sequences have gaps or duplicates")
        if in_seqs != out_seqs:
            failures.append(f"inbox sequences {len(in_seqs)} differ from outbox {len(out_seqs)}")
        bad_acks = 0
        for msg in a.execute(select(OutboxMessage)).scalars():
            if msg.status != "acked" or msg.ack is None:
                bad_acks += 1
                continue
            try:
                sender.verify_ack(orjson.loads(msg.ack), msg, node=node)
            except Exception:
                bad_acks += 1
        if bad_acks:
            failures.append(f"{bad_acks} messages without a verifiable ack")
        if verify_chain(a) != (True, None):
            failures.append("agency audit chain broken")
        if verify_chain(n) != (True, None):
            failures.append("national audit chain broken")
        print(
            f"approved {len(approved):,}; stored {len(stored):,}; messages {len(out_seqs)}; "
            f"acks verified {len(out_seqs) - bad_acks}",
            flush=True,
        )
    a_engine.dispose()
    n_engine.dispose()
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--message-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--agency-url", help="use this (empty) database instead of making one")
    parser.add_argument("--national-url", help="use this (empty) database instead of making one")
    parser.add_argument("--min-delay", type=float, default=0.5)
    parser.add_argument("--max-delay", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    tmp_dir = tempfile.TemporaryDirectory()
    tmp = Path(tmp_dir.name)
    cluster = None
    if args.agency_url and args.national_url:
        agency_url, national_url = args.agency_url, args.national_url
    elif args.backend == "postgresql":
        from _common import DurableCluster

        cluster = DurableCluster()
        cluster.start()
        agency_url, national_url = (
            cluster.create_database("agency"),
            cluster.create_database("national"),
        )
    else:
        agency_url, national_url = (
            f"sqlite:///{tmp / 'agency.db'}",
            f"sqlite:///{tmp / 'national.db'}",
        )
    procs: list[Proc] = []
    try:
        seed(agency_url, national_url, args.records, tmp)
        from exchange_vectors import PKI, agency_node  # type: ignore[import-not-found]

        for label in ("agency", "national"):
            (tmp / f"{label}-chain.pem").write_bytes(
                (PKI / f"{label}.crt.pem").read_bytes() + (PKI / "ca.crt.pem").read_bytes()
            )
        port = _free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOSO_")}
        common = {
            **base,
            "HOSO_ENV": "test",
            "HOSO_TRUST_ANCHORS": str(PKI / "ca.crt.pem"),
            "PYTHONUNBUFFERED": "1",
        }
        national_env = {
            **common,
            "HOSO_DATABASE_URL": national_url,
            "HOSO_NODE_ROLE": "national",
            "HOSO_NODE_ID": NATIONAL_NODE,
            "HOSO_NODE_SIGNER": f"{PKI / 'national.key.pem'},{tmp / 'national-chain.pem'}",
        }
        agency_env = {
            **common,
            "HOSO_DATABASE_URL": agency_url,
            "HOSO_NODE_ROLE": "agency",
            "HOSO_NODE_ID": AGENCY_NODE,
            "HOSO_NODE_SIGNER": f"{PKI / 'agency.key.pem'},{tmp / 'agency-chain.pem'}",
            "HOSO_NATIONAL_URL": f"http://127.0.0.1:{port}",
            "HOSO_EXCHANGE_MESSAGE_SIZE": str(args.message_size),
            "HOSO_SENDER_IDLE_SECONDS": "0.2",
            # Short waits between attempts, so that kills land while messages are in flight.
            "HOSO_EXCHANGE_BACKOFF_MAX_SECONDS": "2",
        }
        py = [sys.executable, "-m", "hoso"]
        national = Proc(
            "national",
            [*py, "serve", "--port", str(port), "--role", "national"],
            national_env,
            tmp / "national.log",
        )
        sender_proc = Proc(
            "sender", [*py, "exchange", "send", "--forever"], agency_env, tmp / "sender.log"
        )
        procs = [national, sender_proc]
        a_engine, n_engine = _engine(agency_url), _engine(national_url)
        t0 = time.perf_counter()
        health = f"http://127.0.0.1:{port}/healthz"
        national.start()
        national.wait_ready(health)
        sender_proc.start()
        kills = {"national": 0, "sender": 0}
        done = False
        while sum(kills.values()) < args.kills:
            time.sleep(rng.uniform(args.min_delay, args.max_delay))
            stored, pending = _progress(a_engine, n_engine)
            if pending == 0 and stored >= args.records:
                done = True
                break
            # Both kinds at least a third of the time each; otherwise random.
            want = args.kills // 3
            if kills["national"] < want and sum(kills.values()) >= args.kills - want:
                victim = national
            elif kills["sender"] < want and sum(kills.values()) >= args.kills - want:
                victim = sender_proc
            else:
                victim = rng.choice(procs)
            victim.kill()
            kills[victim.name] += 1
            print(
                f"kill {sum(kills.values()):2d}: {victim.name:8s} at {time.perf_counter() - t0:6.1f} s "
                f"(stored {stored:,}, pending {pending})",
                flush=True,
            )
            time.sleep(rng.uniform(0.0, 0.3))
            victim.start()
            # The next kill point is counted from when the victim works again.
            victim.wait_ready(health if victim is national else None)
        deadline = time.monotonic() + args.timeout
        while not done:
            stored, pending = _progress(a_engine, n_engine)
            if pending == 0 and stored >= args.records:
                break
            if time.monotonic() > deadline:
                print("TIMEOUT waiting for the sync to finish", flush=True)
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - t0
        for p in procs:
            p.stop()
        a_engine.dispose()
        n_engine.dispose()
        print(
            f"synced {args.records:,} records in {elapsed:.1f} s with {sum(kills.values())} SIGKILLs "
            f"(national {kills['national']}, sender {kills['sender']})",
            flush=True,
        )
        failures = verify(agency_url, national_url, agency_node())
        if sum(kills.values()) < args.kills:
            failures.append(f"only {sum(kills.values())} kills before the sync finished")
        print(
            "VERDICT:",
            "national store equals the agency's approved state" if not failures else "MISMATCH",
        )
        for f in failures:
            print("  -", f)
        if failures:
            for p in procs:
                print(f"--- {p.name} log (tail)\n" + p.log.read_text(errors="replace")[-3000:])
        return 1 if failures else 0
    finally:
        for p in procs:
            p.stop()
        if cluster is not None:
            cluster.stop()
        tmp_dir.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
