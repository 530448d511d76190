"""The device link: what fails on the device's own side ends the session as ERR_INTERNAL
at the link, told to the host, and the session itself hides nothing (portable)."""

from firmware.link import DeviceLink
from protocol import framing
from protocol.host_session import HostSession
from protocol.messages import ERR_INTERNAL
from protocol.signer import make_signer
from tests.firmware.helpers import Wire, start
from tests.portable import TempDir
from tests.protocol.helpers import SEED_A

HOST = make_signer(bytes(range(200, 232)))
HOST_KID = "agency-1"


class BrokenStore:
    """A store view with a bug in it."""

    def head(self) -> tuple:
        raise ZeroDivisionError("a bug in the store view")


def test_a_bug_under_the_session_is_err_internal_at_the_link_and_the_host_is_told():
    # Issue 11 §2: the link, not the protocol layer, turns this side's failure into
    # ERR_INTERNAL (tests/protocol/test_session.py shows the session lets it through).
    with TempDir() as d:
        agent, _camera = start(d + "/store", frames=1)
        wire = Wire()
        signer = make_signer(SEED_A)
        link = DeviceLink(agent, signer, {HOST_KID: HOST.public_key()}, wire, False, bytes)
        link.session.store = BrokenStore()
        host = HostSession(lambda _d: signer.public_key(), HOST, HOST_KID, bytes)
        hello = host.start()
        link.feed(framing.encode_stream(hello, link.max_body))
        assert link.closed == "closed by us: ZeroDivisionError: a bug in the store view"
        assert type(link.error) is ZeroDivisionError
        assert link.close_code == ERR_INTERNAL
        ((kind, body),) = framing.StreamDecoder(link.max_body).feed(wire.sent)
        assert kind == framing.BODY
        events = host.receive(body)
        assert events == [
            ("closed", ERR_INTERNAL, "ZeroDivisionError: a bug in the store view", "peer")
        ]
        agent.store.close()
