"""This node's exchange identity, built once from the settings: id, role, signer, trust.

Wired in ``main.py`` and the CLI; tests build a :class:`Node` directly with their own keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from hoso.config import Settings, get_settings
from hoso.errors import InvalidInput, Issue
from hoso.exchange.envelope import node_agency
from hoso.exchange.signing import Signer, load_signer
from hoso.exchange.trust import TrustStore


@dataclass(slots=True)
class Node:
    """What a node needs to send and receive messages."""

    node_id: str
    role: str
    signer: Signer
    trust: TrustStore
    national_node: str
    national_url: str | None = None
    peers: dict[str, str] = field(default_factory=dict)
    http_window: dt.timedelta = dt.timedelta(minutes=10)
    file_window: dt.timedelta = dt.timedelta(days=7)
    message_size: int = 1000
    """Items per outgoing message (at most 1,000)."""
    backoff_cap: float = 300.0
    """Longest wait between two attempts to send a message, in seconds."""

    @property
    def agency(self) -> str:
        """This node's agency code."""
        return node_agency(self.node_id)

    @property
    def is_national(self) -> bool:
        """True when this node serves the national database."""
        return self.role in ("national", "all")

    @property
    def is_agency(self) -> bool:
        """True when this node serves an agency system."""
        return self.role in ("agency", "all")

    def url_of(self, node_id: str) -> str | None:
        """The base URL to send to ``node_id``."""
        if node_id == self.national_node and self.national_url:
            return self.national_url
        return self.peers.get(node_id)


def _not_configured(setting: str, vi: str, en: str) -> InvalidInput:
    return InvalidInput(
        message_vi=f"Chưa cấu hình trao đổi dữ liệu: {vi}",
        message_en=f"The exchange is not configured: {en}",
        issues=[Issue(field=setting, code="not_configured", message_vi=vi, message_en=en)],
    )


def node_from_settings(settings: Settings) -> Node:
    """Build the node from ``HOSO_NODE_*`` settings; a clear error names what is missing."""
    if not settings.node_signer:
        raise _not_configured(
            "HOSO_NODE_SIGNER", "thiếu khóa ký của hệ thống", "no node signing key"
        )
    anchors = [Path(p.strip()) for p in settings.trust_anchors.split(",") if p.strip()]
    if not anchors:
        raise _not_configured(
            "HOSO_TRUST_ANCHORS", "thiếu chứng thư CA tin cậy", "no trust anchors"
        )
    password = None
    if settings.node_signer_password_file is not None:
        password = settings.node_signer_password_file.read_bytes().strip()
    return Node(
        node_id=settings.node_id,
        role=settings.node_role,
        signer=load_signer(settings.node_signer, password),
        trust=TrustStore.from_files(anchors, settings.revoked_file),
        national_node=settings.national_node,
        national_url=settings.national_url,
        peers=dict(settings.peers),
        http_window=dt.timedelta(seconds=settings.exchange_replay_window_http),
        file_window=dt.timedelta(seconds=settings.exchange_replay_window_file),
        message_size=settings.exchange_message_size,
        backoff_cap=settings.exchange_backoff_max_seconds,
    )


@lru_cache
def get_node() -> Node:
    """The process-wide node (cached; tests call ``get_node.cache_clear()``)."""
    return node_from_settings(get_settings())
