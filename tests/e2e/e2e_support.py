"""Support of the browser test: the seed (a generated org tree, generated people, one user,
two versions of one dossier) and the running server's handle.

The seed runs in the test process against the database ``use_database`` selected, through
the real services, before the server subprocess starts.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hoso.auth import service as auth_service
from hoso.auth.principal import operator
from hoso.auth.schemas import UserCreate
from hoso.db.engine import unit_of_work
from hoso.generate.orgs import generate_orgs
from hoso.generate.people import generate_people
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.orgs.schemas import OrgUnitIn
from hoso.people import service as people_service
from hoso.people.canonical import fold
from hoso.people.schemas import PersonWrite

SHOTS = Path(os.environ.get("HOSO_SHOTS_DIR", "/tmp/hoso_shots"))
"""Where the browser test writes its screenshots."""
USERNAME = "can.bo.to.chuc"
PASSWORD = "mat-khau-e2e-2026"
FULL_NAME = "Nguyễn Thị Thu Hương"
PEOPLE = 60
SEED = 20260701


@dataclass(frozen=True)
class Seeded:
    """What the browser test looks for."""

    username: str
    password: str
    full_name: str
    unit_name: str
    personal_id: str
    birth_name: str
    search: str
    """The person's name without diacritics, as a user would type it."""
    changed_label: str
    old_step: int
    new_step: int


def _pick(lines: list[dict[str, Any]], agency: str) -> dict[str, Any]:
    """A person of ``agency`` whose name has diacritics and a salary step to change."""
    for line in lines:
        data = line["data"]
        name = data.get("birth_name")
        if (
            line["managing_agency"] == agency
            and isinstance(name, str)
            and fold(name) != name.lower()
            and isinstance(data.get("salary_step"), int)
        ):
            return line
    raise AssertionError(f"no suitable generated person in {agency}")


def seed() -> Seeded:
    """Fill the selected database; return what the test will look for."""
    op = operator()
    units = generate_orgs(SEED, 3, communes_per_province=2)
    lines = [line for line, _labels in generate_people(PEOPLE, SEED, orgs=units)]
    agencies = [line["managing_agency"] for line in lines]
    agency = max(set(agencies), key=agencies.count)  # the agency with the most people
    with unit_of_work() as s:
        orgs_service.upsert_units(s, [OrgUnitIn.model_validate(u) for u in units], principal=op)
        auth_service.create(
            s,
            UserCreate(
                username=USERNAME,
                full_name=FULL_NAME,
                role="hr_officer",
                org_unit_code=agency,
                password=PASSWORD,
            ),
            principal=op,
        )
        unit_name = s.execute(select(OrgUnit.name).where(OrgUnit.code == agency)).scalar_one()
        batch = [people_service.check_write(s, line, principal=op) for line in lines]
        people_service.store_batch(s, batch, principal=op, source="import")
    person = _pick(lines, agency)
    changed = copy.deepcopy(person)
    old_step = int(person["data"]["salary_step"])
    changed["data"]["salary_step"] = old_step + 1
    with unit_of_work() as s:
        people_service.update(
            s,
            person["personal_id"],
            PersonWrite.model_validate(changed),
            principal=op,
            expected_version=1,
            source="api",
        )
    name = person["data"]["birth_name"]
    return Seeded(
        username=USERNAME,
        password=PASSWORD,
        full_name=FULL_NAME,
        unit_name=unit_name,
        personal_id=person["personal_id"],
        birth_name=name,
        search=fold(name),
        changed_label="Bậc lương",
        old_step=old_step,
        new_step=old_step + 1,
    )


class LiveServer:
    """A running server: its base URL and what its database holds."""

    def __init__(self, base_url: str, seeded: Seeded, log: Path) -> None:
        self.base_url = base_url
        self.seeded = seeded
        self.log = log

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + path


def wait_until_up(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for the server's /healthz (fail with the tail of its log)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"uvicorn exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"uvicorn did not answer /healthz within 60 s:\n{log.read_text()[-3000:]}")


@contextmanager
def serve(db_url: str, log: Path, **env: str) -> Iterator[str]:
    """Serve ``hoso.main:create_app`` on ``db_url`` from a uvicorn subprocess; yield its URL.

    The loopback socket is bound here to port 0 and handed over with ``--fd`` (no race for
    a free port); ``env`` adds settings (``HOSO_...``) for the server process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    environment = {
        **os.environ,
        "HOSO_DATABASE_URL": db_url,
        "HOSO_ENV": "test",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
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
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, proc, log)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        sock.close()
