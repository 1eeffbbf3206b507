"""Feedback's unit of work on Postgres."""

from __future__ import annotations

from leadloop_db.uow import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    """One transaction over feedback's schema and its outbox."""
