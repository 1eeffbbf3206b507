"""Scoring settings: the shared ones plus the agreement file and the decay scheduler."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_contract.bounds import MAX_ITEMS
from leadloop_platform.settings import CommonSettings, service_database_url


class Settings(CommonSettings):
    """Environment variables of the scoring service."""

    service_name: str = "scoring"
    database_url: str = service_database_url("scoring")
    agreement_file: Path = Field(
        default=EXAMPLE_FILE,
        description="published at start when the database holds no agreement yet",
    )
    consumer_group: str = "leadloop-scoring"
    rescore_interval_s: float = Field(default=30.0, gt=0)
    rescore_batch: int = Field(default=200, ge=1)
    timeline_limit: int = Field(default=25, ge=1, le=MAX_ITEMS)  # what an event may carry
    activity_history_limit: int = Field(default=500, ge=10)
    run_consumer: bool = True
    run_scheduler: bool = True
    # An import's scored-capture counts (GET /v1/imports/{id}/scoring) are kept this long after
    # scoring, then purged every import_scores_purge_interval_s (an old import then counts 0).
    import_scores_retention_days: float = Field(default=30.0, gt=0)
    import_scores_purge_interval_s: float = Field(default=3600.0, gt=0)
