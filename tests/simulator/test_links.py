"""The simulator's cable: two real pseudo-terminals and a relay between them."""
# micropython: skip (pseudo-terminals and pyserial are CPython's)

import select
import threading
import time

import pytest
import serial

from simulator.links import Cable, LinkFaults

# A read returns as soon as its bytes are there: this bound is reached only if the cable lost
# them, never because a loaded machine ran the relay late.
WAIT_S = 60


def wait_until(condition) -> None:
    """Poll ``condition`` until it holds; the bound is reached only if it never will."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def relay_drained(cable: Cable) -> bool:
    """The relay has taken every byte the device's end wrote (nothing waits to be read)."""
    readable, _, _ = select.select([cable._dev_master], [], [], 0)
    return not readable


def test_bytes_cross_both_ways_unchanged_on_a_clean_cable():
    with Cable() as cable:
        host = serial.Serial(cable.host_port, timeout=WAIT_S)
        device = serial.Serial(cable.device_port, timeout=WAIT_S)
        try:
            device.write(b"hello host")
            assert host.read(10) == b"hello host"
            # More than a pseudo-terminal buffers: the writer waits on the reader (backpressure),
            # so it writes from its own thread while this one reads.
            writer = threading.Thread(target=host.write, args=(b"x" * 50_000,))
            writer.start()
            got = b""
            while len(got) < 50_000:
                piece = device.read(50_000 - len(got))
                assert piece, "the cable lost bytes on a clean line"
                got += piece
            writer.join(timeout=WAIT_S)
            assert got == b"x" * 50_000 and not writer.is_alive()
        finally:
            host.close()
            device.close()


def test_an_end_nobody_reads_stalls_its_sender_but_not_the_other_direction():
    # The host stopped reading (a daemon that exited): the device's writes must time out
    # rather than hang forever, and the host can still be heard.
    with Cable() as cable:
        host = serial.Serial(cable.host_port, timeout=WAIT_S)
        # Nobody reads the host's end, so these writes must time out: how soon is not the point.
        device = serial.Serial(cable.device_port, timeout=WAIT_S, write_timeout=0.5)
        try:
            with pytest.raises(serial.SerialTimeoutException):
                for _ in range(100):
                    device.write(b"d" * 16_384)
            host.write(b"still here")
            assert device.read(10) == b"still here"
        finally:
            host.close()
            device.close()


def test_a_pulled_cable_carries_nothing_more():
    with Cable(LinkFaults(disconnect_after=4)) as cable:
        host = serial.Serial(cable.host_port, timeout=WAIT_S)
        device = serial.Serial(cable.device_port, timeout=WAIT_S)
        try:
            device.write(b"abcdefgh")
            assert host.read(4) == b"abcd"
            device.write(b"ijkl")
            # The relay has read every byte written (the device's end has nothing left to
            # send) and carried none of them: what the host can still read is nothing.
            wait_until(lambda: cable.faults.disconnected and relay_drained(cable))
            host.timeout = 0.3  # a read that must come back empty: it can only end early
            assert host.read(8) == b""
        finally:
            host.close()
            device.close()
