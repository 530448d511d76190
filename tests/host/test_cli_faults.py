"""Faults at the command line end in one line and the right exit code (issue 10 §5).

``sealcam dock``: 0 only when the host confirmed the session with a receipt, 1 when the
host refused or ended it, 2 when nothing could be done. ``keygen`` and ``enrol`` refuse ids
the protocol cannot carry.
"""
# micropython: skip (runs the command line in a subprocess)

import socket
import struct
import threading

import pytest

from firmware.ports.transports import SocketTransport
from host.cli import main
from host.evidence import SqliteEvidenceStore
from host.sync import HostLink
from protocol.keys import DeviceKey, encode_key
from protocol.registry import MAX_ID_LEN
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.host.helpers import HOST_KID, HOST_SEED, evidence, run
from tests.protocol.helpers import SEED_B, device_key

HOST_KEY = DeviceKey(HOST_KID, make_signer(HOST_SEED).public_key(), HOST_SEED)


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1 and "Traceback" not in text


@pytest.fixture
def dock_case(tmp_path):
    """A device store with footage and its key, the host's public key to pin, and an
    evidence store that enrols the device."""
    agent = recorded_device(tmp_path / "dev", frames=6)
    agent.store.close()
    (tmp_path / "dev" / "device.key").write_bytes(encode_key(device_key()))
    trust = tmp_path / "host.pub"
    trust.write_bytes(encode_key(HOST_KEY.public_only()))
    return tmp_path, tmp_path / "dev", trust


def serve_once(ev: SqliteEvidenceStore, drop_after_auth: str = "", host_seed=HOST_SEED):
    """A host on 127.0.0.1 that serves one session in a thread: ``(port, results, thread)``.

    With ``drop_after_auth`` the host hangs up once both ends have proved their keys (the
    device has answered a request, which it does only after the host's AUTH), as a host
    that dies mid-session does: "close" ends the stream, "reset" resets the connection.
    """
    srv = socket.create_server(("127.0.0.1", 0))
    results: dict = {}

    def serve() -> None:
        conn, _ = srv.accept()
        srv.close()

        def log(event: str, **fields: object) -> None:
            if drop_after_auth and event == "clock":
                if drop_after_auth == "reset":  # an RST, as a crashed host's kernel sends
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                else:
                    conn.shutdown(socket.SHUT_RDWR)

        link = HostLink(ev, make_signer(host_seed), HOST_KID, SocketTransport(conn), False, log=log)
        try:
            results["summary"] = link.run()
        finally:
            conn.close()

    t = threading.Thread(target=serve)
    t.start()
    return srv.getsockname()[1], results, t


def dock(store, trust, *more: str):
    return run("dock", "--store", str(store), "--trust", str(trust), *more)


def test_dock_exits_0_only_with_the_hosts_receipt(dock_case):  # issue 10 §5
    root, store, trust = dock_case
    ev = evidence(root / "ev")
    port, results, t = serve_once(ev)
    r = dock(store, trust, "--connect", "127.0.0.1:%d" % port)
    t.join(60)
    ev.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert results["summary"]["result"] == "done"
    assert one_line(r.stdout) and "done; receipts [" in r.stdout


def test_dock_with_no_listener_exits_2_in_one_line_and_leaves_the_store_alone(dock_case):
    # issue 10 §5: today a traceback (ConnectionRefusedError).
    _root, store, trust = dock_case

    # The writer's lock file names who last claimed the store; it is no evidence.
    def files() -> list:
        return sorted(
            (p.name, p.stat().st_size)
            for p in store.rglob("*")
            if p.is_file() and p.name != "writer.lock"
        )

    before = files()
    # A bound socket that does not listen: a connection to it is refused, every time.
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        r = dock(store, trust, "--connect", "127.0.0.1:%d" % bound.getsockname()[1])
    assert r.returncode == 2, r.stdout + r.stderr
    assert one_line(r.stderr) and "cannot connect to 127.0.0.1:" in r.stderr
    assert "refused" in r.stderr and r.stdout == ""
    assert files() == before  # nothing was booted, nothing logged


@pytest.mark.parametrize("drop", ["close", "reset"])
def test_dock_exits_1_when_the_host_drops_the_session_after_authentication(dock_case, drop):
    # issue 10 §5: today exit 0 and no output at all (a broken pipe was taken for a closed
    # stdout), or a traceback (a reset connection).
    root, store, trust = dock_case
    ev = evidence(root / "ev")
    port, _results, t = serve_once(ev, drop_after_auth=drop)
    r = dock(store, trust, "--connect", "127.0.0.1:%d" % port)
    t.join(60)
    ev.close()
    assert r.returncode == 1, r.stdout + r.stderr
    assert one_line(r.stdout) and "link lost" in r.stdout and "receipts none" in r.stdout
    assert "Traceback" not in r.stderr


def test_dock_exits_1_when_the_host_refuses_the_device(dock_case):  # issue 10 §5
    root, store, trust = dock_case
    ev = evidence(root / "ev", enrol=False)  # the host does not know this device
    port, _results, t = serve_once(ev)
    r = dock(store, trust, "--connect", "127.0.0.1:%d" % port)
    t.join(60)
    ev.close()
    assert r.returncode == 1, r.stdout + r.stderr
    assert one_line(r.stdout) and "closed by peer" in r.stdout
    assert "Traceback" not in r.stderr


def test_dock_to_a_host_it_does_not_trust_exits_2(dock_case):  # issue 10 §5
    root, store, trust = dock_case
    ev = evidence(root / "ev")
    port, _results, t = serve_once(ev, host_seed=SEED_B)  # another host's key
    r = dock(store, trust, "--connect", "127.0.0.1:%d" % port)
    t.join(60)
    ev.close()
    assert r.returncode == 2, r.stdout + r.stderr
    assert one_line(r.stdout) and "not a host this device trusts" in r.stdout
    assert "Traceback" not in r.stderr


def test_dock_with_no_such_serial_port_or_a_bad_key_exits_2(dock_case, tmp_path):
    _root, store, trust = dock_case
    r = dock(store, trust, "--serial", str(tmp_path / "no-such-tty"))
    assert r.returncode == 2 and one_line(r.stderr), r.stderr
    assert "cannot open serial port" in r.stderr
    bad = tmp_path / "bad.pub"
    bad.write_bytes(b"not a key")
    r = dock(store, bad, "--connect", "127.0.0.1:9")
    assert r.returncode == 2 and one_line(r.stderr), r.stderr
    r = run("dock", "--store", str(tmp_path / "nothing"), "--trust", str(trust), "--connect",
            "127.0.0.1:9")  # fmt: skip
    assert r.returncode == 2 and one_line(r.stderr) and "does not exist" in r.stderr


@pytest.mark.parametrize("length", [MAX_ID_LEN + 1, 300])
def test_keygen_refuses_an_id_longer_than_the_protocol_allows(tmp_path, capsys, length):
    # issue 10 §5: the kid of every entry and the id in HELLO are 1..MAX_ID_LEN characters.
    code = main(["keygen", "--device-id", "S" * length, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and one_line(err) and "1..%d characters" % MAX_ID_LEN in err
    assert list(tmp_path.iterdir()) == []  # no key written
    assert main(["keygen", "--device-id", "S" * MAX_ID_LEN, "--out", str(tmp_path)]) == 0


def test_enrol_refuses_a_key_whose_id_is_too_long_and_enrols_none(tmp_path, capsys):
    # issue 10 §5
    good = tmp_path / "good.pub"
    good.write_bytes(encode_key(device_key().public_only()))
    long_key = DeviceKey("L" * (MAX_ID_LEN + 1), device_key(SEED_B).public)
    bad = tmp_path / "long.pub"
    bad.write_bytes(encode_key(long_key))
    code = main(["enrol", "--evidence", str(tmp_path / "ev"), str(good), str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and one_line(err) and "1..%d characters" % MAX_ID_LEN in err
    assert str(bad) in err
    ev = SqliteEvidenceStore(tmp_path / "ev")
    assert ev.devices() == []  # the good one was not enrolled either: all or nothing
    ev.close()


def test_a_store_that_refuses_under_any_command_is_one_line_and_exit_2(
    tmp_path, monkeypatch, capsys
):
    # A refusal the store raises (host.evidence.EvidenceError: a database lost, an object
    # store that fails mid-way) reaches the command line as one line, never a traceback.
    from host.evidence import EvidenceError

    store = tmp_path / "ev"
    SqliteEvidenceStore(store).close()

    def refuses(*_args, **_kwargs):
        raise EvidenceError("the database went away: run the command again once it is back")

    monkeypatch.setattr(SqliteEvidenceStore, "devices", refuses)
    assert main(["verify", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert one_line(err) and "the database went away" in err and "Traceback" not in err
