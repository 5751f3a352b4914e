"""HTTP transport of the exchange (§6): ``POST /exchange/v1/messages`` and signed reads.

Authentication is the message signature (TLS in production). The route reads the raw body
(so the signature is checked over exactly what arrived), applies it in one transaction that
commits before the answer is sent, and answers with the signed ack.

``GET /exchange/v1/records/{personal_id}`` lets an authorised agency read a person's approved
record from the national node. The request is signed by the requesting node: header
``X-Hoso-Signature`` holds a detached JWS over the JCS bytes of
``{"method", "path", "node", "at"}`` (``X-Hoso-Node``, ``X-Hoso-At``). The managing agency and
the agencies above it may read; every read, allowed or not, is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import anyio.to_thread
import orjson
from anyio import CapacityLimiter
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from hoso.auth.deps import PrincipalDep, SessionDep
from hoso.config import get_settings
from hoso.db.engine import unit_of_work
from hoso.errors import NotAuthenticated
from hoso.exchange import corrections, jws, national, receiver
from hoso.exchange import envelope as env_mod
from hoso.exchange.certificates import agency_codes, parse_time
from hoso.exchange.errors import ExchangeError
from hoso.exchange.models import ExchangeStream, NationalPerson
from hoso.exchange.node import Node, get_node
from hoso.orgs.models import OrgUnit

router = APIRouter(prefix="/exchange/v1", tags=["exchange"])


def _node(request: Request) -> Node:
    node: Node | None = getattr(request.app.state, "node", None)
    return node if node is not None else get_node()


def _receive_limiter(request: Request) -> CapacityLimiter:
    """This process's limit on messages applied at once (``exchange_receive_concurrency``),
    kept on the app and made on first use."""
    limiter: CapacityLimiter | None = getattr(request.app.state, "exchange_limiter", None)
    if limiter is None:
        limiter = CapacityLimiter(get_settings().exchange_receive_concurrency)
        request.app.state.exchange_limiter = limiter
    return limiter


@router.post(
    "/messages",
    summary="Nhận một thông điệp / receive one message",
    response_description="Ack đã ký / the signed ack",
)
async def post_message(request: Request) -> Response:
    """Apply one ``hoso-exchange/1`` envelope and answer with the signed ack (§5)."""
    body = await request.body()
    node = _node(request)

    def work() -> receiver.Receipt:
        with unit_of_work() as session:
            return receiver.receive(session, body, node=node, transport="http")

    receipt = await anyio.to_thread.run_sync(work, limiter=_receive_limiter(request))
    return Response(
        orjson.dumps(receipt.ack), status_code=receipt.http_status, media_type="application/json"
    )


@router.get("/status", summary="Trạng thái các luồng / stream state")
def status(request: Request) -> dict[str, Any]:
    """This node's id and role, and the next sequence number of every stream it knows."""
    node = _node(request)
    with unit_of_work() as session:
        streams = [
            {"sender": s.sender, "receiver": s.receiver, "next_sequence": s.next_sequence}
            for s in session.execute(
                select(ExchangeStream).order_by(ExchangeStream.sender, ExchangeStream.receiver)
            ).scalars()
        ]
    return {"node": node.node_id, "role": node.role, "streams": streams}


def request_payload(method: str, path: str, node_id: str, at: str) -> bytes:
    """The bytes a node signs to read from another node."""
    return env_mod.canonical({"method": method, "path": path, "node": node_id, "at": at})


def sign_request(
    node: Node, method: str, path: str, now: dt.datetime | None = None
) -> dict[str, str]:
    """Headers for a signed read request from ``node``."""
    at = env_mod.rfc3339(now or env_mod.utc_now())
    signature = jws.sign_detached(node.signer, request_payload(method, path, node.node_id, at))
    return {"X-Hoso-Node": node.node_id, "X-Hoso-At": at, "X-Hoso-Signature": signature}


def _authenticate(
    node: Node, method: str, path: str, requester: str | None, at: str | None, signature: str | None
) -> str:
    if not requester or not at or not signature or not env_mod.NODE_RE.match(requester):
        raise NotAuthenticated(
            message_vi="Yêu cầu phải được hệ thống gửi ký số (X-Hoso-Node, X-Hoso-At, X-Hoso-Signature)",
            message_en="The request must be signed by the requesting node (X-Hoso-Node, X-Hoso-At, X-Hoso-Signature)",
        )
    when = parse_time(at)
    now = env_mod.utc_now()
    if when is None or not (now - node.http_window <= when <= now + env_mod.FUTURE_SKEW):
        raise ExchangeError.of("too_old", field="X-Hoso-At", value=at)
    verified = jws.verify_detached(
        signature, request_payload(method, path, requester, at), trust=node.trust, at=when
    )
    if env_mod.node_agency(requester) not in agency_codes(verified.leaf):
        raise ExchangeError.of("sender_mismatch", field="X-Hoso-Node", value=requester)
    return requester


@router.get("/records/{personal_id}", summary="Đọc hồ sơ đã phê duyệt / read an approved record")
def read_record(
    personal_id: str,
    request: Request,
    x_hoso_node: str | None = Header(default=None),
    x_hoso_at: str | None = Header(default=None),
    x_hoso_signature: str | None = Header(default=None),
) -> dict[str, Any]:
    """The current approved record of a person, for its managing agency and the agencies above."""
    node = _node(request)
    requester = _authenticate(
        node, "GET", request.url.path, x_hoso_node, x_hoso_at, x_hoso_signature
    )
    agency = env_mod.node_agency(requester)
    with unit_of_work() as session:
        person = session.get(NationalPerson, personal_id)
        allowed = False
        if person is not None:
            path = session.execute(
                select(OrgUnit.path).where(OrgUnit.code == person.managing_agency_code)
            ).scalar_one_or_none()
            allowed = agency == person.managing_agency_code or (
                path is not None and f"/{agency}/" in path
            )
        try:
            return national.get_record(session, personal_id, requester=requester, allowed=allowed)
        except Exception:
            # The refused read's audit event must be kept: commit it, then answer.
            session.commit()
            raise


corrections_router = APIRouter(prefix="/api/v1/corrections", tags=["corrections"])


class ResolutionIn(BaseModel):
    """An officer's decision on a proposed correction."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["accepted", "rejected"]
    reason: str | None = None


class CorrectionProposal(BaseModel):
    """A correction the national side proposes (sync back)."""

    model_config = ConfigDict(extra="forbid")

    personal_id: str
    field: str
    proposed_value: Any
    reason_code: str = "population_mismatch"
    source: str = "population_registry"
    evidence: dict[str, Any] | None = None


@corrections_router.get("", summary="Đề xuất đính chính / corrections")
def list_corrections(
    session: SessionDep,
    principal: PrincipalDep,
    status: str | None = None,
    side: str | None = None,
) -> list[dict[str, Any]]:
    """Corrections in the caller's scope, with their status (both sides see it)."""
    return corrections.list_(session, principal=principal, status=status, side=side)


@corrections_router.post("", summary="Đề xuất đính chính (CSDLQG) / propose corrections")
def propose_corrections(
    items: list[CorrectionProposal], session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """National side: propose corrections; they are queued for the managing agencies' nodes."""
    return corrections.propose(
        session,
        [corrections.CorrectionIn(**i.model_dump()) for i in items],
        principal=principal,
    )


@corrections_router.post("/{correction_id}/resolve", summary="Chấp nhận / từ chối / resolve")
def resolve_correction(
    correction_id: str,
    body: ResolutionIn,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Agency side: accept (new draft version) or reject with a reason."""
    settings = request.app.state.settings
    return corrections.resolve(
        session,
        correction_id,
        decision=body.decision,
        reason=body.reason,
        principal=principal,
        national_node=settings.national_node,
    )
