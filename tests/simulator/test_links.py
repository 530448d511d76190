"""The simulator's cable: two real pseudo-terminals and a relay between them."""
# micropython: skip (pseudo-terminals and pyserial are CPython's)

import threading

import pytest
import serial

from simulator.links import Cable, LinkFaults


def test_bytes_cross_both_ways_unchanged_on_a_clean_cable():
    with Cable() as cable:
        host = serial.Serial(cable.host_port, timeout=2)
        device = serial.Serial(cable.device_port, timeout=2)
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
            writer.join(timeout=5)
            assert got == b"x" * 50_000
        finally:
            host.close()
            device.close()


def test_an_end_nobody_reads_stalls_its_sender_but_not_the_other_direction():
    # The host stopped reading (a daemon that exited): the device's writes must time out
    # rather than hang forever, and the host can still be heard.
    with Cable() as cable:
        host = serial.Serial(cable.host_port, timeout=2)
        device = serial.Serial(cable.device_port, timeout=2, write_timeout=0.5)
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
        host = serial.Serial(cable.host_port, timeout=0.3)
        device = serial.Serial(cable.device_port, timeout=0.3)
        try:
            device.write(b"abcdefgh")
            assert host.read(8) == b"abcd"
        finally:
            host.close()
            device.close()
