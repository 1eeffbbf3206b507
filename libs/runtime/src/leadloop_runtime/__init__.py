"""One service runtime: a service is a declaration, the runtime builds and runs the rest.

A service's `bootstrap.py` declares itself and hands the declaration to `build_app`:

    db = Database("intake", settings, SqlUnitOfWork, outbox)      # engine, unit of work
    registry: Registry[SqlUnitOfWork] = Registry()
    registry.on(LeadCaptured)(capture_lead)                        # typed per event
    app = build_app(Service(title=..., description=..., settings=settings, database=db,
                            registry=registry, processed=processed_events,
                            routers=[router], workers=[Periodic("sla", sla.run_once, 5.0)]))

The runtime builds the outbox relay, the Kafka producer, the consumer (subscribed to the topics
of the event types the registry handles), the consumer loop, the workers and their supervisor,
and starts and stops them in one order (`leadloop_runtime.lifecycle`).

One way to run a command. Nothing outside libs calls `commit()`: a route, a worker or a start
hook hands a handler and its arguments to the transaction runner, which opens the unit of work,
runs the handler and commits once (nothing when it raises), as the consumer loop does for an
event. In a route:

    async def capture_lead(uow: SqlUnitOfWork, command: CaptureLead) -> LeadId: ...

    @router.post("/v1/leads")
    async def post_lead(body: FormFill, request: Request) -> ...:
        transactions: Transactions[SqlUnitOfWork] = request.app.state.transactions
        lead_id = await transactions.run(capture_lead, CaptureLead.from_form(body))

`Transactions.run(handler, *args, **kwargs)` is typed from the handler's own signature
(`Callable[Concatenate[U, P], Awaitable[R]]`), so mypy checks the arguments and the result.
Short transactions around network calls (lease, send with none open, record) are two `run`s.

`GroupCommit(transactions, max_calls=..., concurrency=...)` runs the same handlers, but
concurrent calls (an HTTP edge's requests) share one transaction and one commit, each caller with
its own result or error (`leadloop_db.grouped`; intake's form fills and activities use it).
"""

from leadloop_db.grouped import GroupCommit
from leadloop_db.uow import Transactions
from leadloop_runtime.periodic import Periodic
from leadloop_runtime.registry import BatchItems, EventHandler, Handler, Registry
from leadloop_runtime.service import Database, Service, build_app

__all__ = [
    "BatchItems",
    "Database",
    "EventHandler",
    "GroupCommit",
    "Handler",
    "Periodic",
    "Registry",
    "Service",
    "Transactions",
    "build_app",
]
