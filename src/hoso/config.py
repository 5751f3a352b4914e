"""Settings: one class, read from the environment with the ``HOSO_`` prefix.

Every field has a docstring. ``get_settings()`` is cached; tests clear the cache with
``get_settings.cache_clear()`` after changing the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
PLACEHOLDER_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    """Runtime configuration of hoso."""

    model_config = SettingsConfigDict(env_prefix="HOSO_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    """Deployment kind. Outside ``dev`` and ``test`` placeholder secrets are refused."""

    database_url: str = Field(default=f"sqlite:///{DEFAULT_VAR_DIR / 'hoso.db'}")
    """SQLAlchemy URL of the database (SQLite file under ``var/`` by default)."""

    secret_key: str = PLACEHOLDER_SECRET
    """Key that signs session cookies and API tokens. Must be set in production."""

    token_ttl_seconds: int = 8 * 3600
    """Lifetime of a sign-in token (web session cookie or API bearer token)."""

    import_batch_size: int = 1000
    """Number of bulk-import lines stored per transaction."""

    default_profile: Literal["core", "p109", "tt06", "nd27"] = "nd27"
    """Catalogue profile whose fields a dossier is checked against."""

    sql_echo: bool = False
    """Log every SQL statement (debugging only)."""

    # ------------------------------------------------------------------ exchange (issue 3)
    node_id: str = "000.00.00.H41:hrm"
    """This node's exchange identifier ``<agency_code>:<system>`` (exchange README §1)."""

    node_role: Literal["agency", "national", "all"] = "all"
    """What this process serves: an agency system, the national database, or both."""

    node_signer: str | None = None
    """The node's signing key: ``file.p12``, ``key.pem,chain.pem`` or a ``pkcs11:`` URI."""

    node_signer_password_file: Path | None = None
    """File holding the PKCS#12 password or the token PIN (kept out of the environment)."""

    trust_anchors: str = ""
    """Comma-separated PEM files of the CA certificates this node trusts."""

    revoked_file: Path | None = None
    """Revoked certificates, one SHA-256 thumbprint (hex) or ``serial:issuer`` per line."""

    national_node: str = "000.00.00.G09:csdlqg"
    """The national database's node identifier (the receiver of an agency's records)."""

    national_url: str | None = None
    """Base URL of the national node's exchange endpoint (agency role)."""

    peers: dict[str, str] = Field(default_factory=dict)
    """Node id → base URL of the other nodes this node sends to (national role), as JSON."""

    exchange_message_size: int = Field(default=1000, ge=1, le=1000)
    """Items per outgoing message (the format allows at most 1,000)."""

    exchange_backoff_max_seconds: float = 300.0
    """Longest wait between two attempts to send a message (exponential backoff up to it)."""

    sender_enabled: bool = False
    """Run the outbox sender in the web process (``hoso serve --sender``)."""

    sender_idle_seconds: float = 1.0
    """How long the sender waits when there is nothing to send."""

    quality_profile: Literal["core", "p109", "tt06", "nd27"] = "nd27"
    """Active profile of the quality engine: what *đủ* requires (quality-rules.md §5)."""

    quality_dir: Path = DEFAULT_VAR_DIR / "quality"
    """Where the quality engine keeps its analytic snapshot (Parquet; derived, rebuildable)."""

    quality_margin_seconds: int = 300
    """Incremental runs re-read changes this long before the last watermark (transactions
    still open at the watermark commit later with earlier timestamps)."""

    quality_params: dict[str, str] = Field(default_factory=dict)
    """Deployment overrides of rule parameters, ``{"DUNG-017.max_age": "68"}``; reported with
    the scores (quality-rules.md §9)."""

    quality_weights: dict[str, float] = Field(default_factory=dict)
    """Weights of the dimensions in the overall score (default 0.25 each; reported)."""

    quality_holidays_file: Path | None = None
    """Extra days off and make-up working days announced by the government (calendar file)."""

    population_url: str = "http://127.0.0.1:8100"
    """Base URL of the population registry (CSDLQG về dân cư) or its simulator."""

    population_api_key: str = "dev-population-key"
    """Client key sent to the registry as ``X-Api-Key``. Must be set in production."""

    population_batch_size: int = 1000
    """Personal IDs per verification call (the registry accepts at most 1,000)."""

    population_timeout_seconds: float = 10.0
    """Timeout of one registry call."""

    population_max_retries: int = 6
    """Retries of a failed registry call (with exponential backoff and jitter)."""

    population_rate_per_second: float = 20.0
    """Client-side cap on registry calls per second (the registry also enforces its own)."""

    population_auto_accept: float = 0.999
    """Probabilistic matches at or above this match probability are accepted without review."""

    population_review_threshold: float = 0.5
    """Probabilistic candidates at or above this probability are shown for review."""

    popsim_database_url: str = Field(default=f"sqlite:///{DEFAULT_VAR_DIR / 'popsim.db'}")
    """Database of the population-registry simulator (its own, never hoso's)."""

    popsim_api_keys: list[str] = Field(default_factory=lambda: ["dev-population-key"])
    """Client keys the simulator accepts."""

    popsim_rate_per_second: float = 50.0
    """Requests per second per client key the simulator allows (429 beyond)."""

    popsim_latency_ms: float = Field(default=0.0, ge=0)
    """Injected fault of the simulator: delay added to every answer (``serve --latency-ms``)."""

    popsim_error_rate: float = Field(default=0.0, ge=0, le=1)
    """Injected fault of the simulator: share of calls answered 503 (``serve --error-rate``)."""

    popsim_timeout_rate: float = Field(default=0.0, ge=0, le=1)
    """Injected fault of the simulator: share of calls that hang ``popsim_timeout_seconds``
    before answering (``serve --timeout-rate``)."""

    popsim_timeout_seconds: float = Field(default=30.0, ge=0)
    """How long a simulated timeout hangs (past any sane client timeout)."""

    popsim_down: bool = False
    """Injected fault of the simulator: answer every call 503 (``serve --down``)."""

    approval_allow_self: bool = False
    """Allow an approver to approve a version they authored (off: four-eyes principle)."""

    exchange_replay_window_http: int = 600
    """Seconds a message sent over HTTP stays acceptable (§5 rule 2)."""

    exchange_replay_window_file: int = 7 * 24 * 3600
    """Seconds a message in a batch file stays acceptable (§5 rule 2)."""

    exchange_receive_concurrency: int = Field(default=1, ge=1, le=64)
    """Messages one server process applies at once (the others wait, their bodies already
    read). Receiving is CPU-bound Python: two at once in one process contend for the GIL and
    were 15–20 % slower in all than one each in twice the processes, so run ``hoso serve
    --workers`` at about twice the cores and keep this at 1 (docs/exchange.md)."""

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.env == "prod" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("HOSO_SECRET_KEY must be set outside dev/test")
        return self


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached)."""
    return Settings()
