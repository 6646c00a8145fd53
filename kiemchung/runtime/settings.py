"""Typed settings, read once from the environment (prefix KIEMCHUNG_)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")
# Written by `kiemchung demo` (kiemchung/demo_serving.py); read by get_settings when present.
DEFAULT_ENV_FILE = DEFAULT_DATA_DIR / "kiemchung.env"


class Runtime(StrEnum):
    EMBEDDED = "embedded"
    DISTRIBUTED = "distributed"


class SearchBackend(StrEnum):
    SQLITE = "sqlite"
    OPENSEARCH = "opensearch"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIEMCHUNG_", extra="ignore", frozen=True)

    runtime: Runtime = Runtime.EMBEDDED
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir (embedded)"
    )
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    search_backend: SearchBackend = SearchBackend.SQLITE
    search_sqlite_path: Path | None = None
    opensearch_url: str | None = None
    opensearch_index: str = "kiemchung-evidence"
    opensearch_refresh: bool = Field(
        default=False, description="Make each write searchable at once (tests, small provinces)"
    )
    trust_dirs: list[Path] = Field(default_factory=list)
    allow_legacy_sha1: bool = True
    organisation_policy_oids: list[str] = Field(
        default_factory=list, description="Certificate policy OIDs of organisation (seal) certificates"
    )
    person_policy_oids: list[str] = Field(
        default_factory=list, description="Certificate policy OIDs of personal certificates"
    )
    fetch_allowed_hosts: list[str] = Field(default_factory=list)
    fetch_http_hosts: list[str] = Field(default_factory=list, description="Hosts allowed over plain http")
    fetch_private_hosts: list[str] = Field(
        default_factory=list, description="Allowed hosts that may resolve to private or loopback addresses"
    )
    fetch_ca_files: list[Path] = Field(
        default_factory=list, description="Extra PEM CA files to trust for https claim checks (private CAs)"
    )
    fetch_file_root: Path | None = Field(default=None, description="Base dir for file:// claim checks")
    max_document_bytes: int = 50 * 1024 * 1024
    max_pages: int = 500
    verify_timeout_seconds: float = 60.0
    verify_memory_mb: int = 1024
    verify_workers: int = Field(
        default=0, ge=0, le=64, description="Verification processes per verifier worker (0: one per CPU)"
    )
    max_delivery_attempts: int = Field(default=5, ge=1)
    retry_backoff_seconds: float = 0.5
    batch_size: int = Field(
        default=100, ge=1, le=1000, description="Messages per transaction (scoring, indexer)"
    )
    verify_batch_size: int = Field(default=4, ge=1, le=100, description="DocumentLinked per verifier batch")
    ready_file: Path | None = Field(default=None, description="Worker writes it while ready (exec probe)")
    criteria_dir: Path | None = None
    producer_name: str = "kiemchung"
    api_keys_file: Path | None = Field(
        default=None,
        description="JSON list of API keys, stored as SHA-256 hashes (services/scoring/access.py)",
    )

    # Hostile-input bounds (SECURITY.md lists every limit and its default).
    api_docs: bool = Field(
        default=False,
        description="Serve /docs, /redoc and /openapi.json (without a key); off in production",
    )
    fetch_timeout_seconds: float = Field(default=30.0, gt=0, description="One deadline for a whole fetch")
    verify_max_signatures: int = Field(default=50, ge=1, description="Signature fields verified per document")
    verify_max_page_objects: int = Field(
        default=1_000_000, ge=1, description="Page objects walked per document for the scan check"
    )
    search_deadline_seconds: float = Field(
        default=5.0, gt=0, description="A search running longer stops with query_timeout (503)"
    )

    # Operations (deploy/k8s): a worker's /metrics, /healthz and /readyz port (None: none served),
    # how long published outbox rows are kept, JSON log lines.
    probe_host: str = "0.0.0.0"
    probe_port: int | None = Field(default=None, ge=0, le=65535)
    outbox_retention_hours: float = Field(default=72.0, gt=0)
    housekeeping_interval_seconds: float = Field(default=15.0, gt=0)
    log_json: bool = False
    trace_file: Path | None = Field(default=None, description="Append spans as JSON lines here")

    # The evidence register's tolerances (services/evidence_verifier/register/tolerances.py);
    # None keeps the register's named default.
    register_number_order_days: int | None = Field(default=None, ge=0, le=366)
    register_signed_after_issue_days: int | None = Field(default=None, ge=0, le=366)
    register_number_series: Literal["per_issuer", "per_notation"] = "per_issuer"
    register_allow_joint_reuse: bool = True
    register_allow_parent_issuer: bool = False

    web_session_secret: str | None = Field(
        default=None, description="Signs web sessions; unset: a new secret per process (sign in again)"
    )
    web_secure_cookies: bool = Field(default=False, description="Send the session cookie over HTTPS only")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'kiemchung.db'}"

    def resolved_search_path(self) -> Path:
        return self.search_sqlite_path or self.data_dir / "search.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    if DEFAULT_ENV_FILE.is_file():
        return Settings(_env_file=DEFAULT_ENV_FILE)
    return Settings()
