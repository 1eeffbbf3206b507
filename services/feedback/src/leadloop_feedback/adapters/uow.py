"""Feedback's unit of work on Postgres; its metrics come from what it committed."""

from __future__ import annotations

from typing import ClassVar

from leadloop_db.uow import CommittedObserver, UnitOfWork
from leadloop_feedback import metrics


class SqlUnitOfWork(UnitOfWork):
    """One transaction over feedback's schema and its outbox."""

    observers: ClassVar[tuple[CommittedObserver, ...]] = (metrics.observe,)
