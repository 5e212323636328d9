"""riskmap's own local PostgreSQL + PostGIS cluster: the default when no database URL is configured.

It uses the system's PostgreSQL binaries (``initdb``, ``pg_ctl``) and keeps its data in one directory (the user's
data directory by default).  The server listens on 127.0.0.1 only, on a free port chosen when it starts, with
password authentication; the passwords live in ``state.json`` beside the data, readable by the owner only.

Two roles log in.  The superuser (``riskmap``) creates the database and its extensions (PostGIS, and pgRouting
when the server has it), applies the migrations and hands the data over (geo/store.py ``hand_over``) to the
application's role (``riskmap_app``), which is not a superuser: the audit trail (migration 0017) can be kept
append-only only against a role that is not one.  ``start`` returns the application's URL, which every part of
riskmap uses; ``admin_url`` the superuser's, for creating databases (tests) and extensions.  A cluster made
before there was an application role gets one, and its data handed over, on its next start.

PostgreSQL refuses to run as root.  When riskmap runs as root (CI does), the server runs as the unprivileged
``postgres`` system account: the data directory is handed to that account, and root reaches the server over TCP
with the password like any other client.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from geo import store
from geo.errors import DatabaseUnavailable, MissingSystemDependency

DATABASE = "riskmap"
SUPERUSER = "riskmap"
APP_ROLE = "riskmap_app"  # the application's login role: owns the data, is no superuser
SERVER_ACCOUNT_FOR_ROOT = "postgres"
DEBIAN_POSTGRES = "postgresql"
# server settings suited to bulk imports and spatial queries on a small machine
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "256MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "maintenance_work_mem": "256MB",
    "work_mem": "32MB",
    # No replication from a local cluster: minimal WAL lets a bulk load into a table truncated or created in
    # the same transaction skip the WAL entirely (crash safety is kept: the data are synced at commit).
    "wal_level": "minimal",
    "max_wal_senders": "0",
}


def default_data_dir() -> Path:
    """Where the embedded cluster lives unless RISKMAP_DATA_DIR says otherwise.

    A normal user gets their XDG data directory.  root gets /var/lib/riskmap, because its home directory is
    closed to the ``postgres`` account that the server must run as.
    """
    if os.geteuid() == 0:
        return Path("/var/lib/riskmap")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "riskmap"


@dataclass(frozen=True)
class PostgresBinaries:
    bindir: Path
    version: int

    def __getitem__(self, program: str) -> str:
        return str(self.bindir / program)


def find_binaries() -> PostgresBinaries:
    """The newest installed PostgreSQL server whose PostGIS extension is also installed.

    Raises MissingSystemDependency naming the Debian packages to install when either is missing.
    """
    candidates: list[tuple[int, Path]] = []
    override = os.environ.get("RISKMAP_PG_BINDIR")
    if override:
        d = Path(override)
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            candidates.append((_server_version(d), d))
    else:
        for d in Path("/usr/lib/postgresql").glob("*/bin"):
            if (d / "initdb").exists() and (d / "pg_ctl").exists():
                with contextlib.suppress(ValueError):
                    candidates.append((int(d.parent.name), d))
        on_path = shutil.which("pg_ctl")
        if on_path and shutil.which("initdb"):
            d = Path(on_path).parent
            candidates.append((_server_version(d), d))
    if not candidates:
        raise MissingSystemDependency(
            "no PostgreSQL server binaries (initdb, pg_ctl) found; install them with "
            "`apt-get install postgresql postgresql-15-postgis-3` (Debian 12), or set RISKMAP_DATABASE_URL to use "
            "an existing PostGIS server"
        )
    candidates.sort(reverse=True)
    for version, bindir in candidates:
        if _postgis_installed(bindir):
            return PostgresBinaries(bindir, version)
    version = candidates[0][0]
    raise MissingSystemDependency(
        f"PostgreSQL {version} is installed but its PostGIS extension is not; install it with "
        f"`apt-get install postgresql-{version}-postgis-3`"
    )


def _server_version(bindir: Path) -> int:
    out = subprocess.run([str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True).stdout
    m = re.search(r"(\d+)", out)
    return int(m.group(1)) if m else 0


def _postgis_installed(bindir: Path) -> bool:
    pg_config = bindir / "pg_config"
    sharedir = None
    if pg_config.exists():
        r = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if r.returncode == 0:
            sharedir = Path(r.stdout.strip())
    if sharedir is None:
        sharedir = Path("/usr/share/postgresql") / bindir.parent.name
    return (sharedir / "extension" / "postgis.control").exists()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    """Whether PostgreSQL could listen on ``port``.  Bound as PostgreSQL binds it (SO_REUSEADDR): the connections
    of a server just stopped linger in TIME_WAIT on its port for a minute, and a plain bind would call the port
    taken, so that a restart would move the server to another port, under the feet of every client holding the
    URL (riskmap's own API among them)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class ClusterStatus:
    initialised: bool
    running: bool
    port: int | None
    data_dir: Path
    url: str | None

    def describe(self) -> str:
        if not self.initialised:
            return f"embedded database: not initialised (data directory {self.data_dir})"
        state = f"running on 127.0.0.1:{self.port}" if self.running else "stopped"
        return f"embedded database: {state} (data directory {self.data_dir})"


class EmbeddedCluster:
    """A PostgreSQL cluster in ``root``: ``pgdata/``, ``run/`` (socket), ``server.log`` and ``state.json``."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root else default_data_dir()
        self.pgdata = self.root / "pgdata"
        self.rundir = self.root / "run"
        self.logfile = self.root / "server.log"
        self.state_file = self.root / "state.json"
        self._as_root = os.geteuid() == 0

    # ----- running commands as the server account -----------------------------------------------------------
    def _server_user(self) -> pwd.struct_passwd | None:
        if not self._as_root:
            return None
        try:
            return pwd.getpwnam(SERVER_ACCOUNT_FOR_ROOT)
        except KeyError:
            raise MissingSystemDependency(
                "riskmap runs as root, and PostgreSQL refuses to; it runs its server as the 'postgres' system "
                f"account, which does not exist here. Install the `{DEBIAN_POSTGRES}` package (it creates the "
                "account) or run riskmap as an ordinary user"
            ) from None

    def _run(self, args: list[str], check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        user = self._server_user()
        kwargs: dict = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": str(self.root)}
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
        if check and r.returncode != 0:
            raise DatabaseUnavailable(
                f"`{' '.join(Path(a).name if i == 0 else a for i, a in enumerate(args))}` failed "
                f"(exit {r.returncode}): {(r.stderr or r.stdout).strip()}"
                + (f"\nserver log: {self.logfile}" if self.logfile.exists() else "")
            )
        return r

    def _give_to_server_account(self, *paths: Path) -> None:
        user = self._server_user()
        if user is None:
            return
        for p in paths:
            os.chown(p, user.pw_uid, user.pw_gid)

    def _check_reachable(self) -> None:
        """As root, every parent of the data directory must let the postgres account through."""
        if not self._as_root:
            return
        for parent in self.root.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise DatabaseUnavailable(
                    f"the embedded database directory {self.root} is inside {parent}, which the 'postgres' account "
                    f"cannot enter (mode {oct(mode & 0o777)}); set RISKMAP_DATA_DIR to a directory under /var/lib "
                    "or /srv, or set RISKMAP_DATABASE_URL to use an existing server"
                )

    # ----- state -------------------------------------------------------------------------------------------
    def _state(self) -> dict:
        if not self.state_file.exists():
            return {}
        return json.loads(self.state_file.read_text())

    def _write_state(self, state: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=2)
        os.replace(tmp, self.state_file)

    @contextlib.contextmanager
    def _lock(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # ----- lifecycle ---------------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists() and self.state_file.exists()

    def _running_port(self) -> int | None:
        """The port from postmaster.pid when the server process is alive."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        if len(lines) < 4:
            return None
        try:
            os.kill(int(lines[0]), 0)
        except (ProcessLookupError, ValueError):
            return None
        except PermissionError:
            pass  # alive, owned by the server account
        return int(lines[3])

    def status(self) -> ClusterStatus:
        port = self._running_port() if self.initialised else None
        return ClusterStatus(self.initialised, port is not None, port, self.root,
                             self._url(port, role=APP_ROLE) if port and "app_password" in self._state() else None)

    def initialise(self) -> None:
        binaries = find_binaries()
        self._check_reachable()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o711 if self._as_root else 0o700)
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            shutil.rmtree(self.pgdata)  # a half-made cluster from an interrupted initialise
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self.rundir.mkdir(mode=0o700, exist_ok=True)
        password = secrets.token_urlsafe(24)
        pwfile = self.root / ".initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        self._give_to_server_account(self.pgdata, self.rundir, pwfile)
        try:
            self._run([binaries["initdb"], "-D", str(self.pgdata), "-U", SUPERUSER, "--pwfile", str(pwfile),
                       "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8",
                       "--lc-collate=C", "--lc-ctype=C.UTF-8", "--no-instructions"], timeout=300)
        finally:
            pwfile.unlink(missing_ok=True)
        self._write_state({"password": password, "port": _free_port(), "postgres_version": binaries.version,
                           "bindir": str(binaries.bindir)})

    def start(self) -> str:
        """Start the cluster (initialising it the first time), make sure the database is ready for the application
        (see the module's docstring) and return the application's connection URL."""
        with self._lock():
            if not self.initialised:
                self.initialise()
            port = self._running_port()
            if port is None:
                port = self._start_server()
            self._ensure_database(port)
            return self._url(port, role=APP_ROLE)

    def admin_url(self, database: str = DATABASE) -> str:
        """The superuser's URL of the running cluster (``start`` it first): for creating databases and extensions,
        never for the application."""
        port = self._running_port()
        if port is None:
            raise DatabaseUnavailable(f"the embedded database is not running (data directory {self.root})")
        return self._url(port, database)

    def app_url(self, database: str = DATABASE) -> str:
        """The application role's URL of ``database`` on the running cluster."""
        return self.admin_url(database).replace(f"://{SUPERUSER}:{self._state()['password']}@",
                                                f"://{APP_ROLE}:{self._app_password()}@", 1)

    def _start_server(self) -> int:
        binaries = find_binaries()
        state = self._state()
        port = state.get("port")
        if not port or not _port_free(port):
            port = _free_port()
            state["port"] = port
            self._write_state(state)
        if self.logfile.exists():
            self._give_to_server_account(self.logfile)
        else:
            self.logfile.touch(mode=0o600)
            self._give_to_server_account(self.logfile)
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())
        options += f" -c port={port} -c unix_socket_directories='{self.rundir}'"
        self._run([binaries["pg_ctl"], "-D", str(self.pgdata), "-l", str(self.logfile), "-w", "-t", "120",
                   "-o", options, "start"], timeout=180)
        return port

    def stop(self) -> bool:
        """Stop the server cleanly; returns False when it was not running."""
        with self._lock():
            if not self.initialised or self._running_port() is None:
                return False
            binaries = find_binaries()
            self._run([binaries["pg_ctl"], "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "120", "stop"])
            return True

    def destroy(self) -> None:
        """Stop the server and delete every file of the cluster (used by tests and `riskmap db reset`)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _url(self, port: int, database: str = DATABASE, role: str = SUPERUSER) -> str:
        password = self._app_password() if role == APP_ROLE else self._state()["password"]
        return f"postgresql://{role}:{password}@127.0.0.1:{port}/{database}"

    def _app_password(self) -> str:
        """The application role's password, made on first use (a cluster from before there was one has none)."""
        state = self._state()
        if "app_password" not in state:
            state["app_password"] = secrets.token_urlsafe(24)
            self._write_state(state)
        return state["app_password"]

    def _admin_connection(self, port: int, database: str):
        try:
            return psycopg2.connect(self._url(port, database), connect_timeout=10)
        except psycopg2.OperationalError as e:
            raise DatabaseUnavailable(f"the embedded database did not accept a connection: {e}") from e

    def _ensure_database(self, port: int) -> None:
        """The database, the application's role (its password the one in state.json), the extensions, the
        migrations, and the data owned by the application's role (``prepare``)."""
        conn = self._admin_connection(port, "postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{DATABASE}"')
                ensure_app_role(cur, self._app_password())
        finally:
            conn.close()
        conn = self._admin_connection(port, DATABASE)
        try:
            prepare(conn, APP_ROLE)
        finally:
            conn.close()


def ensure_app_role(cur, password: str) -> None:
    """Create the application's login role, or make sure it has ``password`` and is no superuser."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
    verb = "ALTER" if cur.fetchone() else "CREATE"
    cur.execute(f"{verb} ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD %s", (password,))


def prepare(conn, role: str = APP_ROLE) -> None:
    """As the superuser, on riskmap's database: the extensions riskmap needs (PostGIS; pgRouting when the server
    has it, for plans over roads), the migrations, and the data handed over to ``role`` (geo/store.py)."""
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")  # (migration 0035; a trusted extension elsewhere)
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'")
        if cur.fetchone():
            cur.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    conn.commit()
    store.migrate(conn)
    store.hand_over(conn, role)
