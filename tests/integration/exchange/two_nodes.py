"""Two nodes in one process, each with its own database, joined by a loopback transport.

``LoopbackTransport`` hands an envelope to the other node's receiver in a transaction of
its own database and returns the ack, as the HTTP route does, so tests can drive the whole
flow (outbox → message → receiver → ack → applied) without sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from hoso.db.engine import make_engine
from hoso.exchange import receiver, sender
from hoso.exchange.node import Node


def sessions_for(engine: Engine) -> Callable[[], Any]:
    """A ``unit_of_work``-like factory for ``engine``: commit on success, roll back on error."""
    maker = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def uow() -> Iterator[Session]:
        session = maker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    return uow


@dataclass
class Side:
    """One node: its identity, engine and session factory."""

    node: Node
    engine: Engine
    sessions: Callable[[], Any]

    @classmethod
    def open(cls, node: Node, url: str) -> Side:
        engine = make_engine(url)
        return cls(node, engine, sessions_for(engine))


class LoopbackTransport(sender.Transport):
    """Delivers to the receiving side's receiver (``transport`` label ``http``)."""

    def __init__(self, sides: dict[str, Side], *, fail_next: int = 0) -> None:
        self.sides = sides
        self.fail_next = fail_next
        self.delivered = 0

    def post(self, url: str, envelope: dict[str, Any]) -> dict[str, Any]:
        if self.fail_next:
            self.fail_next -= 1
            raise sender.TransportError("injected failure")
        side = self.sides[envelope["receiver"]]
        with side.sessions() as session:
            receipt = receiver.receive(session, envelope, node=side.node, transport="http")
        self.delivered += 1
        return receipt.ack


def pump(a: Side, transport: LoopbackTransport) -> sender.SendStats:
    """Send everything ``a`` has queued until it is idle."""
    import threading

    return sender.run(
        a.sessions, node=a.node, transport=transport, stop=threading.Event(), until_idle=True
    )
