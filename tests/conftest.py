"""Fixtures shared by every test area: a running sandbox and, where the binaries exist, a Postgres server.

Both listen on loopback only and are started by the tests themselves.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Airflow reads its configuration once, when first imported, and several test areas import it: give the
# whole session one isolated AIRFLOW_HOME with a sqlite metadata DB before any of them does.
if "airflow" not in sys.modules:
    _AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="outlit-airflow-home-"))
    atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")


def sandbox_running(**settings: Any) -> Iterator[Any]:
    """The body of a sandbox fixture: ``yield from sandbox_running(seed=..., ...)`` (skips without it)."""
    outlit_sandbox = pytest.importorskip("outlit_sandbox")
    with outlit_sandbox.running(**settings) as sb:
        yield sb


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    """A shared sandbox with the default dataset. Tests that change its state use ``fresh_sandbox``."""
    # frozen: answers stay comparable over the session (the clock moves only with advance)
    yield from sandbox_running(
        seed=42, customers=12, events_per_customer=60, facts_per_customer=8, frozen=True
    )


@pytest.fixture
def fresh_sandbox() -> Iterator[Any]:
    """A sandbox of its own for a test that advances, faults or ingests into it."""
    yield from sandbox_running(seed=7, customers=6, events_per_customer=40, facts_per_customer=6, frozen=True)


def spec_path(env_var: str) -> Path:
    """Path of an Outlit spec file from the environment, or a clear skip when this clone has none."""
    value = os.environ.get(env_var)
    if not value:
        pytest.skip(f"{env_var} is not set: the Outlit spec files live outside this repository (see README)")
    path = Path(value)
    if not path.is_file():
        pytest.skip(f"{env_var}={value} does not exist in this checkout")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    # Debian keeps the server binaries out of PATH; prefer them over any wrapper that is on it.
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).parent / "pg_ctl").exists() and (Path(initdb).parent / "createdb").exists():
        return Path(initdb).parent
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port, or OUTLIT_TEST_POSTGRES_URL if given."""
    given = os.environ.get("OUTLIT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb) not found; .ci/run installs them with apt-get")
    workdir = Path(tempfile.mkdtemp(prefix="outlit-pg-"))
    datadir = workdir / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if not _has_user("postgres"):
            pytest.skip("running as root without a 'postgres' user; cannot start a test cluster")
        shutil.chown(workdir, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    log = workdir / "pg.log"
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-l",
            str(log),
            "-o",
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        _wait_port(port)
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "outlit_test"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/outlit_test"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"PostgreSQL did not listen on 127.0.0.1:{port} within {timeout}s")
