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

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.env == "prod" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("HOSO_SECRET_KEY must be set outside dev/test")
        return self


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached)."""
    return Settings()
