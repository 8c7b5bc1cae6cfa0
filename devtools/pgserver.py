"""A throwaway PostgreSQL server from the installed binaries (Debian's ``postgresql``
package): the command-centre tests and ``bench_central`` start one.

``PgServer`` runs initdb in a temporary directory and the server on a free loopback
port (TCP only, password auth), and can be stopped and started again on the same port
and data (the link-cut tests). As root, initdb refuses to run: the server then runs as
the ``postgres`` system user (``runuser``), owning its directory.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile
import uuid

USER = "cg_test"
PASSWORD = "pw-" + uuid.uuid4().hex[:12]


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def free_port() -> int:
    """A free loopback port, found in a child process: the test plugins block sockets
    in this one outside the tests that ask for them (``socket_enabled``)."""
    code = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    return int(subprocess.check_output([sys.executable, "-c", code], text=True))


class PgServer:
    def __init__(
        self,
        bindir: Path,
        *,
        fsync: bool = False,
        max_connections: int = 200,
        tls: tuple[bytes, bytes] | None = None,
    ) -> None:
        """``fsync``: durable as in production (the benchmark), else fast (tests).
        ``tls``: a PEM certificate and key; the server then also speaks TLS."""
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="community_gate_pg_"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._fsync = fsync
        self._max_connections = max_connections
        self._as: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses root: the server runs as the postgres system user.
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            str(bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        pwfile.unlink()
        self._tls = ""
        if tls is not None:
            cert, key = self.root / "server.crt", self.root / "server.key"
            cert.write_bytes(tls[0])
            key.write_bytes(tls[1])
            key.chmod(0o600)  # the server refuses a key others can read
            if self._as:
                for f in (cert, key):
                    shutil.chown(f, "postgres", "postgres")
            self._tls = f" -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"
        self.running = False

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as, *args], check=True, capture_output=True, cwd=self.root, timeout=120
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            f" -c max_connections={self._max_connections} -c fsync={'on' if self._fsync else 'off'}"
            f" -c synchronous_commit={'on' if self._fsync else 'off'}"
            f" -c full_page_writes={'on' if self._fsync else 'off'} -c shared_buffers=64MB"
            + self._tls
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
            self.running = False

    def dsn(self, database: str = "postgres", *, password: str | None = None) -> str:
        pw = PASSWORD if password is None else password
        return f"postgresql://{USER}:{pw}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        name = name or "t_" + uuid.uuid4().hex[:12]
        self.psql("postgres", f"CREATE DATABASE {name}")
        return name

    def psql(self, database: str, sql: str) -> str:
        out = subprocess.run(
            [
                *self._as,
                str(self.bindir / "psql"),
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                USER,
                "-d",
                database,
                "-At",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=60,
        )
        return out.stdout

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
