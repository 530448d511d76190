"""The running agent's docking point: the messages on its socket, the header it takes, and
the docks it will not serve (issue 10, item 1: the dock is served by the running agent)."""
# micropython: skip (Unix sockets: the CPython port's docking point)

import json
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.ports.docking import (
    MAX_HEADER,
    TAG_DATA,
    TAG_RESULT,
    DockServer,
    MessageReader,
    encode_message,
    parse_header,
)
from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME
from protocol.signer import make_signer
from tests.firmware.helpers import recorded_device
from tests.protocol.helpers import SEED_A

KID = "agency-host-1"
GOOD = {"trust": {KID: "ab" * 32}, "serial": False, "idle_ms": 5000, "max_frame": MAX_FRAME}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([TAG_DATA, TAG_RESULT]), st.binary(max_size=300))),
    st.lists(st.integers(1, 50), min_size=1),
)
def test_messages_come_out_whole_however_the_bytes_are_split(messages, cuts):
    wire = b"".join(encode_message(tag, payload) for tag, payload in messages)
    reader = MessageReader()
    got = []
    pos = 0
    i = 0
    while pos < len(wire):
        step = cuts[i % len(cuts)]
        got += reader.feed(wire[pos : pos + step])
        pos += step
        i += 1
    assert got == messages


def test_a_message_longer_than_any_session_piece_is_refused():
    with pytest.raises(ValueError, match="too large"):
        MessageReader().feed(TAG_DATA + (2 * MAX_FRAME + 2048).to_bytes(4, "big"))


def test_the_header_names_the_session_and_refuses_what_it_cannot_use():
    params = parse_header(json.dumps(GOOD).encode())
    assert params["pinned"] == {KID: bytes.fromhex("ab" * 32)} and params["serial"] is False
    bad = [
        (b"not json", "not JSON"),
        (b"[1]", "not a JSON object"),
        (json.dumps(dict(GOOD, trust={})).encode(), "no agency host key"),
        (json.dumps(dict(GOOD, trust={KID: "abcd"})).encode(), "not an Ed25519 public key"),
        (json.dumps(dict(GOOD, trust={KID: "zz" * 32})).encode(), "not an Ed25519 public key"),
        (json.dumps(dict(GOOD, idle_ms=0)).encode(), "idle_ms"),
        (json.dumps(dict(GOOD, serial="yes")).encode(), "serial"),
        (json.dumps(dict(GOOD, max_frame=DEFAULT_MAX_FRAME - 1)).encode(), "max_frame"),
        (json.dumps(dict(GOOD, max_frame=MAX_FRAME + 1)).encode(), "max_frame"),
    ]
    for line, why in bad:
        with pytest.raises(ValueError, match=why):
            parse_header(line)


def served(tmp_path, send: bytes) -> dict:
    """What a running agent answers a relay that sends ``send`` and then waits."""
    agent = recorded_device(tmp_path / "dev", frames=2)
    server = DockServer(str(tmp_path / "dev"), agent, make_signer(SEED_A))
    assert server.open() == ""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(tmp_path / "dev" / "agent.sock"))
    client.sendall(send)
    client.setblocking(False)
    reader = MessageReader()
    limit = time.monotonic() + 60  # a generous bound on polling for the answer
    try:
        while time.monotonic() < limit:
            server.poll()
            try:
                data = client.recv(65536)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            for tag, payload in reader.feed(data):
                if tag == TAG_RESULT:
                    return json.loads(payload)
            if not data:
                break
        raise AssertionError("the agent gave no outcome")
    finally:
        client.close()
        server.close()
        agent.store.close()


def test_a_relay_with_a_bad_header_is_refused_and_nothing_is_served(tmp_path):
    answer = served(tmp_path, b'{"trust": {}}\n')
    assert answer == {"refused": "the dock names no agency host key to trust"}


def test_a_header_that_never_ends_is_refused(tmp_path):
    answer = served(tmp_path, b"x" * (MAX_HEADER + 1))
    assert "longer than" in answer["refused"]


def test_a_relay_whose_host_hangs_up_ends_the_session_as_link_lost(tmp_path):
    # The relay closes its side at once: the agent's session sees the link go.
    agent = recorded_device(tmp_path / "dev", frames=2)
    server = DockServer(str(tmp_path / "dev"), agent, make_signer(SEED_A))
    assert server.open() == ""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(tmp_path / "dev" / "agent.sock"))
    client.sendall(json.dumps(GOOD).encode() + b"\n")
    client.shutdown(socket.SHUT_WR)
    limit = time.monotonic() + 60
    while not server.served and time.monotonic() < limit:
        server.poll()
        time.sleep(0.001)
    client.close()
    server.close()
    agent.store.close()
    assert [s["result"] for s in server.served] == ["link lost"]
    assert not (tmp_path / "dev" / "agent.sock").exists()  # the socket goes with the server
