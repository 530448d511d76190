"""Start and stop the scale-out store's services on this machine, for tests and trials.

PostgreSQL 15 and a single-node Ceph (one monitor, one OSD on a sparse file, one RADOS
Gateway) run on 127.0.0.1 only, every file of theirs under one state folder of their own:
nothing is installed as a system service and nothing outside the folder is touched. Each
daemon's process id is kept in ``STATE/pids/NAME.pid``; ``start`` starts only what does not
run already, ``stop`` ends every daemon the folder names (a zombie counts as ended: it runs
nothing, and its parent, not we, must reap it), and ``env`` prints the connection settings
as shell exports (``eval "$(tools/services/services env)"``).

Ports are chosen free at the first start and kept in ``STATE/settings.json`` with the
passwords and S3 keys made for this folder (mode 600), so a restart keeps its addresses.
PostgreSQL refuses to run as root: as root, its commands run as the ``postgres`` user
(``runuser``), which then owns its data folder; so the state folder must be one that user
can reach (not under a folder only root may enter).
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from host.i18n import text  # noqa: E402 (after the path that finds it)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
DEFAULT_STATE = ROOT / ".services"
WAIT_S = 120.0  # the bound on any wait for a daemon to come up or go down
SERVICES = ("pg", "ceph")
CEPH_DAEMONS = ("radosgw", "ceph-osd", "ceph-mon")  # the order they stop in
S3_REGION = "us-east-1"


class ServiceError(Exception):
    """A service could not be started or stopped; the message says why, in one line."""


# --- processes ---


def _state_of(pid: int) -> str | None:
    """The process state letter of ``pid`` (``Z`` for a zombie), None when there is none."""
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split(" ", 1)[0]


def _runs(pid: int, name: str) -> bool:
    """Whether ``pid`` is a live process (not a zombie) whose command names ``name``: a
    pid file left by a daemon long gone may name a pid some other program has now."""
    state = _state_of(pid)
    if state is None or state == "Z":
        return False
    try:
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return name.encode() in cmdline


def _pid_file(state: Path, name: str) -> Path:
    return state / "pids" / (name + ".pid")


def _running(state: Path, name: str, command: str) -> int | None:
    path = _pid_file(state, name)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _runs(pid, command) else None


def _end(pid: int, command: str) -> None:
    """SIGTERM, a bounded wait, then SIGKILL: ``pid`` runs no more (or is a zombie)."""
    for sig, wait_s in ((signal.SIGTERM, WAIT_S / 2), (signal.SIGKILL, WAIT_S / 2)):
        if not _runs(pid, command):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)  # ours to reap when this process started it
            except ChildProcessError:
                pass
            if not _runs(pid, command):
                return
            time.sleep(0.05)
    raise ServiceError(text("services.unstoppable", name=command, pid=pid))


def _spawn(state: Path, name: str, argv: list) -> int:
    """Start ``argv`` in the background, in a session of its own (a Ctrl-C at the terminal
    that started it does not reach it), its output to ``STATE/log/NAME.out``."""
    log = state / "log" / (name + ".out")
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _pid_file(state, name).write_text("%d\n" % proc.pid)
    return proc.pid


def _run(argv: list, what: str, input_text: str | None = None) -> str:
    """Run a setup command to its end; its output, or ServiceError naming what failed."""
    try:
        done = subprocess.run(
            argv, input=input_text, capture_output=True, text=True, timeout=WAIT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(text("services.command_failed", what=what, why=exc)) from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise ServiceError(
            text("services.command_failed", what=what, why=why[-1] if why else done.returncode)
        )
    return done.stdout


def _wait_for(check, what: str) -> None:
    """Poll ``check()`` until it is true, for at most WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise ServiceError(text("services.timeout", what=what, seconds=int(WAIT_S)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --- the state folder and its settings ---


def _settings(state: Path) -> dict:
    path = state / "settings.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _save_settings(state: Path, values: dict) -> None:
    path = state / "settings.json"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(values, fh, indent=2)
    os.replace(tmp, path)


def _prepare(state: Path) -> dict:
    """Make the state folder (reachable by the postgres user) and its settings."""
    for sub in ("pids", "log"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o711)
    values = _settings(state)
    made = dict(values)
    made.setdefault("pg_password", secrets.token_hex(16))
    made.setdefault("s3_access_key", "SEALCAM" + secrets.token_hex(6).upper())
    made.setdefault("s3_secret_key", secrets.token_hex(20))
    made.setdefault("fsid", str(uuid.uuid4()))
    for key in ("pg_port", "mon_port", "rgw_port"):
        made.setdefault(key, _free_port())
    if made != values:
        _save_settings(state, made)
    return made


def _repick(state: Path, values: dict, key: str, running: bool) -> None:
    """A port kept from an earlier start that something else holds now: choose another,
    unless our own daemon holds it."""
    if not running and not _port_free(values[key]):
        values[key] = _free_port()
        _save_settings(state, values)


# --- PostgreSQL ---


def _as_postgres(argv: list) -> list:
    return ["runuser", "-u", PG_USER, "--", *argv] if os.geteuid() == 0 else argv


def _pg_pid(state: Path) -> int | None:
    """The postmaster's pid, from its own postmaster.pid (pg_ctl starts it detached)."""
    pid = _running(state, "postgres", "postgres")
    if pid is not None:
        return pid
    try:
        first = (state / "pg" / "data" / "postmaster.pid").read_text().split("\n", 1)[0]
        pid = int(first)
    except (OSError, ValueError):
        return None
    return pid if _runs(pid, "postgres") else None


def pg_start(state: Path) -> None:
    values = _prepare(state)
    pg = state / "pg"
    if _pg_pid(state) is not None:
        return
    _repick(state, values, "pg_port", False)
    data, sock = pg / "data", pg / "sock"
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(pg, ignore_errors=True)  # a half-made cluster: made again
        pg.mkdir()
        data.mkdir(mode=0o700)
        sock.mkdir()
        pwfile = pg / "pw"
        pwfile.write_text(values["pg_password"] + "\n")
        if os.geteuid() == 0:
            for path in (pg, data, sock, pwfile):
                shutil.chown(path, PG_USER, PG_USER)
        _run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"), "-D", str(data), "-U", "sealcam", "-E", "UTF8",
                    "--locale", "C", "-A", "scram-sha-256", "--pwfile", str(pwfile),
                ]
            ),
            "initdb",
        )  # fmt: skip
        pwfile.unlink()
    options = "-c listen_addresses=127.0.0.1 -p %d -k %s" % (values["pg_port"], sock)
    _run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(pg / "postgres.log"),
                "-w", "-t", str(int(WAIT_S)), "-o", options, "start",
            ]
        ),
        "pg_ctl start",
    )  # fmt: skip
    pid = _pg_pid(state)
    if pid is None:
        raise ServiceError(text("services.not_running", name="postgres"))
    _pid_file(state, "postgres").write_text("%d\n" % pid)
    env = dict(os.environ, PGPASSWORD=values["pg_password"])
    probe = [
        str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(values["pg_port"]), "-U", "sealcam",
        "-d", "postgres", "-tAc",
    ]  # fmt: skip
    have = subprocess.run(
        [*probe, "SELECT 1 FROM pg_database WHERE datname = 'sealcam'"],
        capture_output=True, text=True, env=env, timeout=WAIT_S,
    )  # fmt: skip
    if have.stdout.strip() != "1":
        done = subprocess.run(
            [*probe, "CREATE DATABASE sealcam"], capture_output=True, text=True, env=env,
            timeout=WAIT_S,
        )  # fmt: skip
        if done.returncode != 0:
            raise ServiceError(
                text("services.command_failed", what="CREATE DATABASE", why=done.stderr.strip())
            )


def pg_stop(state: Path) -> None:
    pid = _pg_pid(state)
    if pid is not None:
        # Fast shutdown: sessions are ended, what they committed is kept.
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(state / "pg" / "data"), "-m", "fast",
                 "-w", "-t", str(int(WAIT_S)), "stop"]
            ),
            capture_output=True, timeout=WAIT_S + 10,
        )  # fmt: skip
        _end(pid, "postgres")
    _pid_file(state, "postgres").unlink(missing_ok=True)


def pg_url(values: dict) -> str:
    """The database's URL; its password goes in PGPASSWORD, never on a command line."""
    return "postgresql://sealcam@127.0.0.1:%d/sealcam" % values["pg_port"]


# --- Ceph: one monitor, one OSD, one RADOS Gateway ---


def _ceph_conf(state: Path, values: dict) -> Path:
    ceph = state / "ceph"
    conf = ceph / "ceph.conf"
    lines = [
        "[global]",
        "fsid = %s" % values["fsid"],
        "mon host = [v2:127.0.0.1:%d]" % values["mon_port"],
        "auth cluster required = cephx",
        "auth service required = cephx",
        "auth client required = cephx",
        "keyring = %s" % (ceph / "admin.keyring"),
        "run dir = %s" % (ceph / "run"),
        "admin socket = %s/$cluster-$name.asok" % (ceph / "run"),
        "log file = %s/$cluster-$name.log" % (ceph / "log"),
        "log to stderr = false",
        "err to stderr = true",
        # One OSD holds every copy; placement groups few; no data-loss warnings.
        "osd pool default size = 1",
        "osd pool default min size = 1",
        "mon allow pool size one = true",
        "mon warn on pool no redundancy = false",
        "osd pool default pg num = 8",
        "osd pool default pgp num = 8",
        "osd pool default pg autoscale mode = off",
        "osd crush chooseleaf type = 0",
        "mon data avail warn = 2",
        # RGW makes its pools one monitor command each: quick proposals make its first
        # start take about a second instead of about ten.
        "paxos propose interval = 0.05",
        "paxos min wait = 0.01",
        "",
        "[mon.a]",
        "mon data = %s" % (ceph / "mon"),
        "",
        "[osd.0]",
        "osd data = %s" % (ceph / "osd"),
        "keyring = %s" % (ceph / "osd" / "keyring"),
        "osd objectstore = bluestore",
        "bluestore block create = true",
        # Outside the OSD's folder: inside it, mkfs fails on its own symlink to the block.
        "bluestore block path = %s" % (ceph / "osd-block.img"),
        "bluestore block size = %d" % (20 << 30),  # sparse: only what is written takes room
        "bluestore fsck on mkfs = false",
        "bluestore fsck on mount = false",
        "bluestore cache autotune = false",
        "bluestore cache size = %d" % (128 << 20),
        "osd memory target = %d" % (1 << 30),
        "",
        "[client.rgw.gw]",
        "keyring = %s" % (ceph / "rgw.keyring"),
        "rgw frontends = beast endpoint=127.0.0.1:%d" % values["rgw_port"],
        "rgw data = %s" % (ceph / "rgw"),
        "",
    ]
    conf.write_text("\n".join(lines))
    return conf


def _ceph(conf: Path, *args: str) -> str:
    return _run(["ceph", "-c", str(conf), "--connect-timeout", "60", *args], "ceph " + args[0])


def _osd_up(conf: Path) -> bool:
    try:
        dump = json.loads(_ceph(conf, "osd", "dump", "-f", "json"))
    except (ServiceError, ValueError):
        return False
    return any(o.get("osd") == 0 and o.get("up") == 1 for o in dump.get("osds", []))


def _rgw_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an S3 answer (403 for an anonymous list) is an answer
    except OSError:
        return False


def _ceph_make(state: Path, values: dict, conf: Path) -> None:
    """Make the cluster from an empty folder: keys, monitor map, monitor store."""
    ceph = state / "ceph"
    auth = "ceph-authtool"
    mon_keyring, admin_keyring = ceph / "mon.keyring", ceph / "admin.keyring"
    _run([auth, "--create-keyring", str(mon_keyring), "--gen-key", "-n", "mon.",
          "--cap", "mon", "allow *"], auth)  # fmt: skip
    _run([auth, "--create-keyring", str(admin_keyring), "--gen-key", "-n", "client.admin",
          "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *"],
         auth)  # fmt: skip
    _run([auth, str(mon_keyring), "--import-keyring", str(admin_keyring)], auth)
    monmap = ceph / "monmap"
    _run(["monmaptool", "--create", "--fsid", values["fsid"], "--addv", "a",
          "[v2:127.0.0.1:%d]" % values["mon_port"], str(monmap)], "monmaptool")  # fmt: skip
    (ceph / "mon").mkdir()
    _run(["ceph-mon", "-c", str(conf), "--mkfs", "-i", "a", "--monmap", str(monmap),
          "--keyring", str(mon_keyring)], "ceph-mon --mkfs")  # fmt: skip


def _osd_make(state: Path, conf: Path) -> None:
    ceph = state / "ceph"
    osd_uuid = str(uuid.uuid4())
    key = _run(["ceph-authtool", "--gen-print-key"], "ceph-authtool").strip()
    secret = ceph / "osd-secret.json"
    secret.write_text(json.dumps({"cephx_secret": key}))
    osd_id = _ceph(conf, "osd", "new", osd_uuid, "-i", str(secret)).strip()
    secret.unlink()
    if osd_id != "0":
        raise ServiceError(text("services.command_failed", what="ceph osd new", why=osd_id))
    (ceph / "osd").mkdir()
    (ceph / "osd" / "keyring").write_text("[osd.0]\n\tkey = %s\n" % key)
    _run(["ceph-osd", "-c", str(conf), "-i", "0", "--mkfs", "--osd-uuid", osd_uuid],
         "ceph-osd --mkfs")  # fmt: skip


def ceph_start(state: Path) -> None:
    values = _prepare(state)
    ceph = state / "ceph"
    made = (ceph / "made").exists()
    if not made:
        # A cluster whose making broke off (an OSD registered, its mkfs failed) cannot be
        # mended: it is made again from an empty folder.
        ceph_stop(state)
        shutil.rmtree(ceph, ignore_errors=True)
    for sub in ("", "run", "log", "rgw"):
        (ceph / sub).mkdir(parents=True, exist_ok=True)
    running = {d: _running(state, d, d) for d in CEPH_DAEMONS}
    _repick(state, values, "mon_port", running["ceph-mon"] is not None)
    _repick(state, values, "rgw_port", running["radosgw"] is not None)
    conf = _ceph_conf(state, values)
    if not made:
        _ceph_make(state, values, conf)
    if running["ceph-mon"] is None:
        _spawn(state, "ceph-mon", ["ceph-mon", "-f", "-c", str(conf), "-i", "a"])
    _wait_for(lambda: _answers(values["mon_port"]), "ceph-mon")
    if not made:
        _osd_make(state, conf)
    if running["ceph-osd"] is None:
        _spawn(state, "ceph-osd", ["ceph-osd", "-f", "-c", str(conf), "-i", "0"])
    _wait_for(lambda: _osd_up(conf), "ceph-osd")
    if not made:
        _ceph(conf, "auth", "get-or-create", "client.rgw.gw", "mon", "allow rw", "osd",
              "allow rwx", "-o", str(ceph / "rgw.keyring"))  # fmt: skip
    if running["radosgw"] is None:
        _spawn(state, "radosgw", ["radosgw", "-f", "-c", str(conf), "-n", "client.rgw.gw"])
    _wait_for(lambda: _rgw_answers(values["rgw_port"]), "radosgw")
    if not made:
        _run(["radosgw-admin", "-c", str(conf), "user", "create", "--uid", "sealcam",
              "--display-name", "sealcam", "--access-key", values["s3_access_key"],
              "--secret-key", values["s3_secret_key"]], "radosgw-admin user create")  # fmt: skip
        (ceph / "made").write_text("1\n")


def ceph_stop(state: Path) -> None:
    for daemon in CEPH_DAEMONS:  # the gateway first, the monitor last
        pid = _running(state, daemon, daemon)
        if pid is not None:
            _end(pid, daemon)
        _pid_file(state, daemon).unlink(missing_ok=True)


def exports(state: Path) -> list:
    values = _settings(state)
    if not values:
        raise ServiceError(text("services.no_state", state=state))
    endpoint = "http://127.0.0.1:%d" % values["rgw_port"]
    return [
        ("SEALCAM_PG_URL", pg_url(values)),
        ("PGPASSWORD", values["pg_password"]),
        ("AWS_ACCESS_KEY_ID", values["s3_access_key"]),
        ("AWS_SECRET_ACCESS_KEY", values["s3_secret_key"]),
        ("AWS_DEFAULT_REGION", S3_REGION),
        ("AWS_ENDPOINT_URL_S3", endpoint),
    ]


def status(state: Path) -> list:
    """``(daemon, pid or None)`` for every daemon the folder may run."""
    return [("postgres", _pg_pid(state))] + [(d, _running(state, d, d)) for d in CEPH_DAEMONS]


STARTS = {"pg": pg_start, "ceph": ceph_start}
STOPS = {"pg": pg_stop, "ceph": ceph_stop}


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/services/services", description=text("services.description")
    )
    parser.add_argument("action", choices=("start", "stop", "env", "status"))
    parser.add_argument("services", nargs="*", metavar="SERVICE", help=text("services.which"))
    parser.add_argument("--state", default=str(DEFAULT_STATE), help=text("services.state"))
    args = parser.parse_args(argv)
    state = Path(args.state).absolute()
    chosen = args.services or list(SERVICES)
    for name in chosen:
        if name not in SERVICES:
            parser.error(text("services.unknown", name=name, known=", ".join(SERVICES)))
    try:
        if args.action == "start":
            for name in chosen:
                STARTS[name](state)
        elif args.action == "stop":
            if state.exists():
                for name in reversed(chosen):
                    STOPS[name](state)
        elif args.action == "env":
            for name, value in exports(state):
                print("export %s='%s'" % (name, value))
        else:
            for daemon, pid in status(state):
                print("%-9s %s" % (daemon, pid if pid else text("services.stopped")))
    except ServiceError as exc:
        print(text("services.failed", action=args.action, why=exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
