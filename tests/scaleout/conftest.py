"""The scale-out tests' services: PostgreSQL 15 and a single-node Ceph with its S3 gateway,
started once per test session by ``tools/services/services`` in a state folder of their own
and stopped after it, whatever the tests did (nothing is left running)."""
# micropython: skip (host code, real services)

import importlib.util
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.scaleout.helpers import services_command

NEEDED = (
    "/usr/lib/postgresql/15/bin/postgres", "/usr/bin/ceph-mon", "/usr/bin/ceph-osd",
    "/usr/bin/radosgw", "/usr/bin/radosgw-admin",
)  # fmt: skip


def _absent() -> str:
    """Why the services cannot run here ("" when they can)."""
    for path in NEEDED:
        if not os.path.exists(path):
            return "%s is not installed (tools/system/install installs it)" % path
    for module in ("boto3", "psycopg"):
        if importlib.util.find_spec(module) is None:
            return "the Python package %s is not installed (pip install -e .)" % module
    return ""


@pytest.fixture(scope="session")
def services():
    """The services' connection settings, also put in this process's environment (and so
    in every ``sealcam`` it starts) for the session's length."""
    why = _absent()
    if why:
        pytest.skip(why)
    # tools/test names the folder, and stops what it names even if pytest itself dies.
    given = os.environ.get("SEALCAM_SERVICES_STATE")
    state = Path(given) if given else Path(tempfile.mkdtemp(prefix="sealcam-services-"))
    before = dict(os.environ)
    try:
        started = services_command("start", state)
        assert started.returncode == 0, started.stderr
        listed = services_command("env", state)
        assert listed.returncode == 0, listed.stderr
        env = {}
        for line in listed.stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value.strip("'")
        os.environ.update(env)
        yield dict(env, state=str(state))
    finally:
        os.environ.clear()
        os.environ.update(before)
        stopped = services_command("stop", state)
        left = services_command("status", state).stdout
        shutil.rmtree(state, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr
        assert all(line.split()[1:] and not line.split()[1].isdigit() for line in
                   left.splitlines()), "still running after stop:\n" + left  # fmt: skip


@pytest.fixture
def scale_store(services):
    """A fresh database and bucket name for one test: ``(url, media_url)``."""
    import psycopg

    name = "t" + uuid.uuid4().hex[:12]
    with psycopg.connect(services["SEALCAM_PG_URL"], autocommit=True) as conn:
        conn.execute("CREATE DATABASE %s" % name)
    url = services["SEALCAM_PG_URL"].rsplit("/", 1)[0] + "/" + name
    return url, "s3://" + name
