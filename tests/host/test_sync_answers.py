"""The device answers a TIME or CONFIG only once its own rules have judged it: OK when they
took it, REFUSED with their reason when they did not; the host records the refusal."""
# micropython: skip (host code and sockets)

import os

from firmware.agent import FLOOR_SETTING, boot
from firmware.link import DeviceLink
from protocol import framing
from protocol.host_session import HostSession
from protocol.hostconfig import sign_config
from protocol.ledger import parse_entry
from protocol.messages import CONFIG, ERR_REFUSED, MAX_FRAME, TIME
from protocol.registry import EV_CLOCK_SET, EV_CONFIG_APPLIED, F_EVENT
from protocol.session import E_CLOSED, E_OK, E_REFUSED, E_SEND
from protocol.signer import make_signer
from tests.firmware.helpers import Log, SceneCamera, StepClock, Wire
from tests.host.helpers import HOST_KID, HOST_SEED, evidence, run_pair
from tests.protocol.helpers import DEVICE, SEED_A, device_key

HOST = make_signer(HOST_SEED)
PINNED = {HOST_KID: HOST.public_key()}


def device_agent(path, recording):
    """A device that pins the host's key; still recording when ``recording``."""
    agent = boot(
        str(path), make_signer(SEED_A), DEVICE, "P-0427", StepClock(), SceneCamera(6), Log(),
        host_keys=PINNED,
    )  # fmt: skip
    agent.input("press_record")
    while agent.capture():
        pass
    if not recording:
        agent.input("press_stop")
    return agent


class Pair:
    """A HostSession talking to a DeviceLink, both in this thread."""

    def __init__(self, agent) -> None:
        self.wire = Wire()
        self.clock_set: list = []
        self.link = DeviceLink(
            agent, make_signer(SEED_A), PINNED, self.wire, False, os.urandom,
            set_clock=self.clock_set.append, max_frame=MAX_FRAME,
        )  # fmt: skip
        lookup = {DEVICE: device_key().public}.get
        self.host = HostSession(lookup, HOST, HOST_KID, os.urandom, max_frame=MAX_FRAME)
        self.decoder = framing.StreamDecoder(MAX_FRAME + 1024)

    def ask(self, body: bytes) -> list:
        """Send the host's body to the device; return the host's events from its answers."""
        events: list = []
        to_device = [body]
        while to_device:
            self.link.feed(framing.encode_stream(to_device.pop(0), MAX_FRAME + 1024))
            data, self.wire.sent = bytes(self.wire.sent), bytearray()
            for kind, answer in self.decoder.feed(data):
                assert kind == framing.BODY
                for event in self.host.receive(answer):
                    if event[0] == E_SEND:
                        to_device.append(event[1])
                    else:
                        events.append(event)
        return events

    def connect(self) -> None:
        self.ask(self.host.start())
        assert self.link.host_kid == HOST_KID


def events_after(agent, seq):
    return [parse_entry(raw).fields.get(F_EVENT) for raw in agent.store.entries(seq)]


def test_a_clock_refused_while_recording_is_answered_refused_with_the_reason(tmp_path):
    # Issue 11 §2: the device told the host OK for a clock its recorder refused.
    agent = device_agent(tmp_path / "dev", recording=True)
    pair = Pair(agent)
    pair.connect()
    head = agent.store.head()[0]
    events = pair.ask(pair.host.set_time(1_900_000_000_000))
    assert len(events) == 1 and events[0][:3] == (E_REFUSED, TIME, ERR_REFUSED), events
    assert "recording" in events[0][3].lower()  # the recorder's own one-line reason
    assert pair.clock_set == []  # the RTC is not set to a clock the device refused
    assert EV_CLOCK_SET not in events_after(agent, head)
    # The session goes on: the host may pull as after an OK.
    assert pair.host.state_name() == "READY" and not pair.link.closed
    agent.store.close()


def test_a_clock_taken_is_answered_ok_and_set(tmp_path):
    agent = device_agent(tmp_path / "dev", recording=False)
    pair = Pair(agent)
    pair.connect()
    head = agent.store.head()[0]
    assert pair.ask(pair.host.set_time(1_900_000_000_000)) == [(E_OK, TIME)]
    assert pair.clock_set == [1_900_000_000_000]
    assert EV_CLOCK_SET in events_after(agent, head)
    agent.store.close()


def test_a_config_the_device_refuses_is_not_reported_applied(tmp_path):
    # R-DEV-4: the retention floor may only rise; the host must not hear OK for it.
    agent = device_agent(tmp_path / "dev", recording=False)
    pair = Pair(agent)
    pair.connect()
    head = agent.store.head()[0]
    lower = sign_config(HOST, HOST_KID, DEVICE, 1_800_000_000_000, {FLOOR_SETTING: 30})
    events = pair.ask(pair.host.send_config(lower))
    assert len(events) == 1 and events[0][:3] == (E_REFUSED, CONFIG, ERR_REFUSED), events
    assert "retention floor" in events[0][3]
    assert EV_CONFIG_APPLIED not in events_after(agent, head)
    # Refused, it does not count as the newest config: the same issue time, raised, is taken.
    higher = sign_config(HOST, HOST_KID, DEVICE, 1_800_000_000_000, {FLOOR_SETTING: 400})
    assert pair.ask(pair.host.send_config(higher)) == [(E_OK, CONFIG)]
    assert EV_CONFIG_APPLIED in events_after(agent, head)
    assert not [e for e in events if e[0] == E_CLOSED]
    agent.store.close()


def test_the_host_logs_a_refused_clock_and_still_collects(tmp_path):
    # R-HOST-11: the session's record says the clock was not set, and why.
    agent = device_agent(tmp_path / "dev", recording=True)
    ev = evidence(tmp_path / "ev")
    lines: list = []
    summary, _device, _ = run_pair(agent, ev, log=lambda event, **kv: lines.append((event, kv)))
    assert summary["result"] == "done", summary
    assert summary["clock_set"] is False
    declined = [kv for event, kv in lines if event == "declined"]
    assert len(declined) == 1 and declined[0]["of"] == "TIME", lines
    assert "recording" in declined[0]["reason"].lower()
    agent.store.close()
    ev.close()
