"""The in-memory unit of work every service's fakes build on: one transaction in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar, Generic, Self, TypeVar

from leadloop_db.uow import CommittedObserver
from leadloop_events.envelope import CloudEvent
from leadloop_platform.http.paging import Key, PageRequest

R = TypeVar("R")
T = TypeVar("T")


class FakeUnitOfWork(Generic[R]):
    """Collects published events; a commit moves them to `committed` and calls `observers`
    (a service's fake names the ones its real unit of work declares), as the real one does.
    Leaving the block without a commit drops what was published.

    Hand it to the runtime's `Transactions(lambda: uow)` to run a handler as a route does.
    """

    observers: ClassVar[Sequence[CommittedObserver]] = ()

    def __init__(self, repo: R) -> None:
        self.repo = repo
        self.pending: list[tuple[str, CloudEvent]] = []
        self.committed: list[tuple[str, CloudEvent]] = []
        self.commits = 0

    async def __aenter__(self) -> Self:
        self.pending = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.pending = []  # what was not committed is rolled back

    def publish(self, topic: str, event: CloudEvent) -> None:
        self.pending.append((topic, event))

    async def commit(self) -> None:
        self.committed.extend(self.pending)
        for observer in self.observers:
            observer([event for _, event in self.pending])
        self.pending = []
        self.commits += 1

    def events(self, event_type: str | None = None, subject: str | None = None) -> list[CloudEvent]:
        """The committed events (of one type, about one subject)."""
        return [
            e
            for _, e in self.committed
            if (event_type is None or e.type == event_type)
            and (subject is None or e.subject == subject)
        ]

    def types(self) -> list[str]:
        """The types of the committed events, in order."""
        return [event.type for _, event in self.committed]


def paged(
    items: Iterable[T], key: Callable[[T], Key], page: PageRequest, descending: bool = False
) -> list[T]:
    """A page in memory as the SQL keyset gives it: after the cursor, in key order, limit + 1."""
    ordered = sorted(items, key=key, reverse=descending)
    if page.after is not None:
        after = page.after
        ordered = [i for i in ordered if (key(i) < after if descending else key(i) > after)]
    return ordered[: page.limit + 1]
