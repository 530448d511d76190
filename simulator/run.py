"""Run a scenario: a device lives through the steps, docks with a host daemon in another
process, and the host's verdict is checked against what the scenario expects.

The device is a ``VirtualDevice`` (the unchanged firmware on simulated hardware) or, for
hardware in the loop, a board on a serial port driven through its test command set
(``simulator.hil.BoardDevice``). Every dock starts ``sealcam sync`` as its own process, on a
pseudo-terminal cable (or loopback TCP), with its clock at the scenario's virtual time; the
host's conclusions are what ``sealcam verify --json`` prints for its evidence store.
"""
# micropython: skip (the simulator runs on CPython only)

import importlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from host import i18n
from protocol.keys import DeviceKey, decode_key, encode_key
from protocol.signer import generate_seed, make_signer
from simulator.errors import ScenarioError, SimulatorError
from simulator.said import DEVICE_OFF, Said, Term, dock_result, line, say
from simulator.scenario import Scenario

HOST_KID = "agency-host-1"
SEALCAM = [sys.executable, "-c", "import sys; from host.cli import main; sys.exit(main())"]
DOCK_ATTEMPTS = 8  # with faults on the link, dock again until the host has everything
# On a cable with faults both ends give up on a silent link this fast (the simulator's cables
# are short): a frame lost to noise stalls the session, and the next dock resumes it.
IDLE_S = 3.0
# A clean cable loses nothing, so a silent end there is a hung one, never a lost frame: the
# limit only has to end a broken dock, and must not end one that a loaded machine ran slowly.
CLEAN_IDLE_S = 60.0
HOST_START_S = 120.0  # a device waits this long for a starting daemon to say its first word
# The cables a dock goes over, as the report names them.
LINKS = {"pty": i18n.N_("sim.link.pty"), "tcp": i18n.N_("sim.link.tcp")}


class Host:
    """The agency's side: its key, its evidence store, its daemon processes."""

    def __init__(self, workdir: Path, evidence: "str | None" = None, key: "str | None" = None):
        self.dir = workdir / "host"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.evidence = Path(evidence) if evidence else self.dir / "evidence"
        if key:
            self.key_path = Path(key)
            self.key = decode_key(self.key_path.read_bytes())
        else:
            self.key_path = self.dir / ("%s.key" % HOST_KID)
            if self.key_path.exists():
                self.key = decode_key(self.key_path.read_bytes())
            else:
                seed = generate_seed()
                self.key = DeviceKey(HOST_KID, make_signer(seed).public_key(), seed)
                self.key_path.write_bytes(encode_key(self.key))
        if not self.key.seed:
            raise SimulatorError(i18n.text("sim.error.public_host_key", path=key))

    def enrol(self, device_id: str, public: bytes) -> None:
        from host.evidence import EvidenceError, SqliteEvidenceStore

        store = SqliteEvidenceStore(str(self.evidence))
        try:
            if store.device_key(device_id) != public:
                store.enrol(device_id, public)
        except EvidenceError as exc:
            raise SimulatorError(str(exc)) from None
        finally:
            store.close()

    def daemon(
        self, link: list, clock_ms: int, idle_s: float = IDLE_S, clock_at_ms: "int | None" = None
    ) -> "Daemon":
        """``sealcam sync`` serving ``link``; its clock reads ``clock_ms`` at the system time
        ``clock_at_ms`` (default: when it has started) and runs at real speed from there."""
        cmd = [
            *SEALCAM,
            "sync",
            "--evidence",
            str(self.evidence),
            "--host-key",
            str(self.key_path),
            "--once",
            "--json",
            "--idle",
            str(idle_s),
            "--clock-start",
            str(clock_ms),
            *(["--clock-at", str(clock_at_ms)] if clock_at_ms is not None else []),
            *link,
        ]
        return Daemon(cmd)

    def conclude(self, device_id: str, policy: dict) -> dict:
        """What ``sealcam verify --json`` says of this device in the evidence store."""
        cmd = [*SEALCAM, "verify", str(self.evidence), "--device", device_id, "--json"]
        if "late_hours" in policy:
            cmd += ["--late-hours", str(policy["late_hours"])]
        if "clock_drift_s" in policy:
            cmd += ["--drift-limit", str(policy["clock_drift_s"])]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env())
        try:
            return json.loads(r.stdout)["devices"][0]
        except (ValueError, IndexError):
            raise SimulatorError(
                i18n.text("sim.error.no_verdict", code=r.returncode, why=r.stderr.strip())
            ) from None


def _env() -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def _session_lines(out: str) -> list:
    sessions = []
    for printed in out.splitlines():
        try:
            doc = json.loads(printed)
        except ValueError:
            continue
        if doc.get("event") == "session":
            sessions.append(doc)
    return sessions


class Runner:
    """One run of one scenario."""

    def __init__(
        self,
        scenario: Scenario,
        workdir: str,
        device_port: "str | None" = None,
        evidence: "str | None" = None,
        host_key: "str | None" = None,
        say: "Callable[[str], None] | None" = None,
    ) -> None:
        """``say``, if given, hears each line of what happens as it happens, in the language
        in force."""
        self.scenario = scenario
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = Host(self.workdir, evidence, host_key)
        self.say: Callable[[str], None] = say or (lambda line: None)
        self.docks: list = []
        self.happened: list = []
        self.device: Any
        self.on_board = bool(device_port)
        if device_port:
            # Hardware in the loop: the board is driven through its test command set.
            cfg = scenario.device
            if cfg.get("codec", "mjpeg") != "mjpeg":
                raise ScenarioError(i18n.text("sim.error.board_codec", codec=cfg["codec"]))
            self.device = importlib.import_module("simulator.hil").BoardDevice(
                device_port,
                start_ms=scenario.start_ms() if "start" in cfg else int(time.time() * 1000),
                officer=cfg.get("officer", ""),
                fps=cfg.get("fps", 5),
            )
            self.devices = [self.device]
        else:
            from simulator.device import VirtualDevice, nth_device

            # Several devices alike live the same steps, each on its own clock and card,
            # and dock at once with one daemon, as a charging rack does.
            self.devices = []
            for i in range(int(scenario.device.get("count", 1))):
                device = VirtualDevice(str(self.workdir), nth_device(scenario.device, i))
                device.pin_host(self.host.key.device_id, self.host.key.public)
                self.devices.append(device)
            self.device = self.devices[0]
        for device in self.devices:
            self.host.enrol(device.device_id, device.public_key)

    def run(self) -> dict:
        try:
            for step in self.scenario.steps:
                if step["do"] == "dock":
                    lines = self._dock(step)
                else:
                    lines = []
                    for device in self.devices:
                        lines += self._tagged(device, device.step(dict(step)))
                self._note(step, lines)
        finally:
            for device in self.devices:
                device.close()
        self.say(i18n.text("sim.run.verdict"))
        return self._report()

    def _tagged(self, device: Any, lines: list) -> list:
        """With several devices, each line says whose it is."""
        if len(self.devices) == 1:
            return lines
        return [
            line("sim.run.device_line", device=device.device_id, line=said)
            for said in lines or [line("sim.run.done")]
        ]

    def _note(self, step: dict, lines: list) -> None:
        at = self._true_ms()
        n = step["n"]
        place = step.get("at", str(n))  # where it is in the file: "3.2" inside a repeat
        label = "%d" % n if place == str(n) else "%d (%s)" % (n, place)
        for said in lines or [line("sim.run.done")]:
            # ``what`` is the English line (a board's lines are plain English: no id);
            # ``msg`` and ``fields`` say it again in another language.
            record = {"step": n, "in_file": place, "do": step["do"], "at": _iso(at), "what": said}
            if isinstance(said, Said):
                record.update(said.to_json())
            self.happened.append(record)
            self.say(i18n.text("sim.run.step", label=label, do=step["do"], line=say(said)))

    def _true_ms(self) -> int:
        clock = getattr(self.device, "clock", None)
        if clock is not None:
            return int(clock.true_ms)
        true_ms = getattr(self.device, "true_ms", None)
        return true_ms() if callable(true_ms) else int(time.time() * 1000)

    # -- docking --

    def _dock(self, step: dict) -> list:
        from simulator.links import LinkFaults

        # One cable a device, each with the step's faults and its own dice.
        faults = [
            LinkFaults(
                flip_every=step.get("flip_every", 0),
                drop_every=step.get("drop_every", 0),
                stall_ms=step.get("stall_ms", 0),
                disconnect_after=step.get("disconnect_after", 0),
                seed=step["n"] + 1000 * i,
            )
            for i in range(len(self.devices))
        ]
        until_done = step.get("until_done", True)
        link = step.get("link", self.scenario.host.get("link", "pty"))
        if self.on_board:
            link = "tcp"  # a board is docked through its test command channel
        elif link == "tcp" and faults[0].any:
            raise ScenarioError(i18n.text("sim.error.tcp_faults", n=step["n"]))
        lines = []
        for device in self.devices if not self.on_board else ():
            if device.agent is None:
                # The cradle powers and charges the device: a flat or switched-off recorder
                # boots on it (and recovers its store, if the power was cut).
                device.battery.charge(100)
                booted = device.step({"do": "power_on", "n": step["n"]})
                lines += self._tagged(device, [line("sim.run.cradle"), *booted])
        pending = list(range(len(self.devices)))
        idle_s = IDLE_S if any(f.any for f in faults) else CLEAN_IDLE_S
        for attempt in range(1, (DOCK_ATTEMPTS if until_done else 1) + 1):
            if attempt > 1:
                for i in pending:
                    faults[i].next_attempt()
            records = self._dock_once(link, pending, faults, idle_s)
            for i, record in zip(pending, records, strict=True):
                device = self.devices[i]
                record["attempt"] = attempt
                record["device"] = device.device_id
                self.docks.append(record)
                said = line(
                    "sim.run.dock",
                    attempt=attempt,
                    link=Term(link, LINKS[link]),
                    result=dock_result(record["result"]),
                    entries=record["entries_stored"],
                    media=record["media_stored"],
                    faults=_fault_note(record.get("link_faults")),
                )
                lines += self._tagged(device, [said])
            pending = [i for i, r in zip(pending, records, strict=True) if r["result"] != "done"]
            if not pending:
                break
        return lines

    def _dock_once(self, link: str, which: list, faults: list, idle_s: float) -> list:
        """Dock the devices numbered ``which`` at once; a record for each, in that order.
        Both ends of each link give up on it after ``idle_s`` quiet seconds."""
        if self.on_board:
            return [self._dock_board(faults[0], idle_s)]
        if link == "tcp":
            if self.device.agent is None:
                return [_dock_record(DEVICE_OFF)]
            return [self._dock_tcp(idle_s)]
        devices = [self.devices[i] for i in which]
        return self._dock_pty(devices, [faults[i] for i in which], idle_s)

    def _clocks(self) -> tuple:
        """The scenario's time now, with the system time and the monotonic time it was read
        at: the daemon's clock and the devices' clocks all run on from this one moment, so
        they agree however long the daemon takes to start."""
        return self._true_ms(), int(time.time() * 1000), time.monotonic()

    def _dock_pty(self, devices: list, faults: list, idle_s: float) -> list:
        from contextlib import ExitStack

        import serial

        from firmware.ports.transports import SerialTransport
        from simulator.links import Cable

        records: dict = {}
        on = [(d, f) for d, f in zip(devices, faults, strict=True) if d.agent is not None]
        with ExitStack() as stack:
            cables = [stack.enter_context(Cable(f)) for _, f in on]
            # Each device's end is open before the host speaks, so nothing the host sends
            # is flushed away by a device opening its port late.
            ports = []
            for cable in cables:
                port = serial.Serial(
                    cable.device_port, baudrate=921600, timeout=0.05, write_timeout=idle_s
                )
                stack.callback(port.close)
                ports.append(port)
            if on:
                serve = [arg for c in cables for arg in ("--serial", c.host_port)]
                true_ms, wall_ms, since = self._clocks()
                daemon = self.host.daemon(serve, true_ms, idle_s, wall_ms)
                ends: list = [None] * len(on)
                errors: list = []

                def session(k: int) -> None:
                    try:
                        # The host speaks first (HELLO): a device's idle limit counts from
                        # then, not from while the daemon process is still starting.
                        _await_host(ports[k], daemon)
                        transport = SerialTransport(ports[k])
                        ends[k] = self._device_session(on[k][0], transport, True, idle_s, since)
                    except BaseException as exc:  # a power cut, say: the runner's to handle
                        errors.append(exc)

                threads = [threading.Thread(target=session, args=(k,)) for k in range(len(on))]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                for port in ports:
                    port.close()
                out, err = daemon.finish()
                if errors:
                    raise errors[0]
                sessions = _session_lines(out)
                for k, (device, fault) in enumerate(on):
                    result, receipts = ends[k]
                    mine = [s for s in sessions if s.get("link") == "serial:" + cables[k].host_port]
                    record = _dock_record(result, receipts, mine, err)
                    if fault.any:
                        record["link_faults"] = fault.summary()
                    records[device.device_id] = record
        off = _dock_record(DEVICE_OFF)
        return [records.get(d.device_id, dict(off)) for d in devices]

    def _dock_tcp(self, idle_s: float) -> dict:
        import socket

        from firmware.ports.transports import SocketTransport

        true_ms, wall_ms, since = self._clocks()
        daemon = self.host.daemon(["--tcp", "127.0.0.1:0"], true_ms, idle_s, wall_ms)
        address = daemon.listening()
        sock = socket.create_connection(address, timeout=10)
        try:
            transport = SocketTransport(sock)
            result, receipts = self._device_session(self.device, transport, False, idle_s, since)
        finally:
            sock.close()
        out, err = daemon.finish()
        return _dock_record(result, receipts, _session_lines(out), err)

    def _device_session(
        self, device: Any, transport: object, serial_link: bool, idle_s: float, since: float
    ) -> tuple:
        """Run the device's end of one dock; its clock runs in real time from ``since``."""
        from firmware.link import DeviceLink
        from protocol.messages import DEFAULT_MAX_FRAME, MAX_FRAME

        link = DeviceLink(
            device.agent,
            make_signer(device.key.seed),
            device.pinned_hosts,
            device.dock_transport(transport, since),
            serial_link,
            os.urandom,
            set_clock=device.clock.set,
            idle_ms=int(idle_s * 1000),
            max_frame=DEFAULT_MAX_FRAME if serial_link else MAX_FRAME,
        )
        try:
            result = link.run()
        except OSError as exc:  # pyserial's SerialException and write timeouts are OSErrors
            # The host went away while the device was sending: the link is gone, and the
            # next dock resumes from what the host made durable.
            result = "link lost: %s" % exc
        device.battery.charge(100)  # docked is charging
        return result, list(link.receipts)

    def _dock_board(self, faults: Any, idle_s: float) -> dict:
        from simulator.links import LinkFaults

        true_ms, wall_ms, since = self._clocks()
        daemon = self.host.daemon(["--tcp", "127.0.0.1:0"], true_ms, idle_s, wall_ms)
        address = daemon.listening()
        injure = faults.injure if isinstance(faults, LinkFaults) and faults.any else None
        outcome = self.device.dock(address, injure=injure, since=since)
        out, err = daemon.finish()
        record = _dock_record(
            outcome["result"], outcome.get("receipts", []), _session_lines(out), err
        )
        if injure is not None:
            record["link_faults"] = faults.summary()
        return record

    # -- the verdict --

    def _report(self) -> dict:
        """The run's report; with several devices, the expectations hold for each of them."""
        s = self.scenario
        each = [self._device_report(device) for device in self.devices]
        report = {
            "scenario": s.name,
            "file": s.path,
            "description": s.description,
            # In Chinese too, when the file gives them (the human report in Chinese shows them).
            **({"name_zh": s.name_zh} if s.name_zh else {}),
            **({"description_zh": s.description_zh} if s.description_zh else {}),
            "device": ", ".join(d["device"] for d in each),
            "happened": self.happened,
            "docks": self.docks,
            "host": each[0]["host"],
            "expectations": each[0]["expectations"],
            "passed": all(d["passed"] for d in each),
        }
        if len(each) > 1:
            report["devices"] = each
            report["expectations"] = [
                dict(c, what=line("sim.run.device_line", device=d["device"], line=c["what"]))
                for d in each
                for c in d["expectations"]
            ]
        return report

    def _device_report(self, device: Any) -> dict:
        from simulator.expect import evaluate

        verdict = self.host.conclude(device.device_id, self.scenario.host)
        host = {
            "state": verdict["verification"]["state"],
            "findings": [f["code"] for f in verdict["verification"].get("findings", [])],
            "flags": verdict["compliance"],
            "recordings": verdict["recordings"],
        }
        host.update(self._stored(device))
        docks = [d for d in self.docks if d["device"] == device.device_id]
        checks = evaluate(self.scenario.expect, host, docks)
        return {
            "device": device.device_id,
            "host": host,
            "expectations": checks,
            "passed": all(c["passed"] for c in checks),
        }

    def _stored(self, device: Any) -> dict:
        """Whether the host holds the device's ledger as the device has it, each entry once."""
        from host.evidence import SqliteEvidenceStore

        store = SqliteEvidenceStore(str(self.host.evidence))
        try:
            held = store.entries(device.device_id)
        finally:
            store.close()
        from protocol.ledger import parse_entry
        from protocol.registry import EV_EVICTION, EV_POWER_LOSS_RECOVERED, F_DETAIL, F_EVENT

        parsed = [parse_entry(raw).fields for raw in held]
        events = [f.get(F_EVENT) for f in parsed]
        evicted = sum(
            len(f.get(F_DETAIL, {}).get("media", []))
            for f in parsed
            if f.get(F_EVENT) == EV_EVICTION
        )
        out = {
            "entries": len(held),
            "stored_once": len(held) == len(set(held)),
            "power_losses": events.count(EV_POWER_LOSS_RECOVERED),
            "evicted_media": evicted,
        }
        ledger = getattr(device, "ledger_entries", None)
        if callable(ledger):
            device_entries = ledger()
            out["device_entries"] = len(device_entries)
            out["stored_once"] = out["stored_once"] and held == device_entries[: len(held)]
        return out


def _await_host(port: Any, daemon: "Daemon") -> None:
    """Wait until the host has sent something to ``port`` (or its daemon has ended); a
    daemon that never speaks leaves the device to its idle limit after HOST_START_S."""
    deadline = time.monotonic() + HOST_START_S
    while not port.in_waiting and daemon.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def _dock_record(
    result: str, receipts: "list | None" = None, sessions: "list | None" = None, err: str = ""
) -> dict:
    s = sessions[-1] if sessions else {}
    return {
        "result": result,
        "host_result": s.get("result", "no session" if not err else err.strip()[-200:]),
        "entries_stored": s.get("entries_stored", 0),
        "media_stored": s.get("media_stored", 0),
        "clock_drift_ms": s.get("clock_drift_ms"),
        "receipts": receipts or [],
    }


def _fault_note(faults: "dict | None") -> "Said | str":
    if not faults:
        return ""
    parts = []
    if faults["bits_flipped"]:
        parts.append(line("sim.fault.flipped", count=faults["bits_flipped"]))
    if faults["bytes_dropped"]:
        parts.append(line("sim.fault.dropped", count=faults["bytes_dropped"]))
    if faults["stalled_ms"]:
        parts.append(line("sim.fault.stalled", ms=faults["stalled_ms"]))
    if faults["disconnected_after"] is not None:
        parts.append(line("sim.fault.pulled", count=faults["disconnected_after"]))
    return line("sim.run.faults", faults=parts) if parts else ""


class Daemon:
    """A ``sealcam sync`` process whose output is read as it comes: a daemon serving many
    links logs more than a pipe holds, and one that waits on a full pipe serves nobody."""

    def __init__(self, cmd: list) -> None:
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
        )
        self._out: list = []
        self._err: list = []
        self._address: tuple | None = None
        self._started = threading.Event()  # listening, or the output ended
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for out in self.proc.stdout:
            self._out.append(out)
            if self._address is None and '"listening"' in out:
                doc = json.loads(out)
                host, _, port = doc["tcp"].rpartition(":")
                self._address = (host, int(port))
                self._started.set()
        self._started.set()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self._err.append(self.proc.stderr.read())

    def listening(self, timeout_s: float = 30) -> tuple:
        """The TCP address the daemon listens on, once it says so."""
        self._started.wait(timeout_s)
        if self._address is None:
            _, err = self.finish(timeout_s=5)
            raise SimulatorError(i18n.text("sim.error.not_listening", why=err.strip()))
        return self._address

    def finish(self, timeout_s: float = 60) -> tuple:
        """Wait for the daemon to stop (kill it past ``timeout_s``); its stdout and stderr."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for t in self._readers:
            t.join()
        return "".join(self._out), "".join(self._err)


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def run_file(
    path: str,
    workdir: str,
    device_port: "str | None" = None,
    evidence: "str | None" = None,
    host_key: "str | None" = None,
    say: "Callable[[str], None] | None" = None,
) -> dict:
    """Load a scenario file and run it; the report says what happened and what passed."""
    from simulator.scenario import load

    scenario = load(path)
    try:
        return Runner(scenario, workdir, device_port, evidence, host_key, say).run()
    except ScenarioError as exc:
        raise ScenarioError("%s: %s" % (path, exc)) from None
