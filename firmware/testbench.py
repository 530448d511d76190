"""The test command set: hardware-in-the-loop steps for a board running a DEBUG build.

Debug builds only. A release image must not carry this module (``tools/board/manifest.py``
leaves it out): it replaces the board's clock, camera, microphone and battery with virtual
ones that commands drive, which no recorder in service may allow.

A ``TestBench`` runs on the board (MicroPython; CPython too, for tests) over the store that
factory provisioning wrote (``device.key``, the pinned agency host keys and the host-signed
config; see ``firmware.provision``). The host's runner (``simulator.hil.BoardDevice``) sends
it one command per scenario step through the raw REPL and reads back plain data (lists,
dicts, strings, numbers, bytes) that ``repr`` and ``ast.literal_eval`` round-trip.

What is virtual, and why:

- the clock: the RTC and the monotonic counter are numbers the commands move, so a wait of
  eight hours takes no time and a run is repeatable;
- the camera and the microphone: a test rig has neither, so frames and audio blocks are
  small synthetic bytes, different every time (each frame carries the overlay, R-DEV-1);
- the battery, and the card's free space, so faults can be staged.

What is real: the recorder, the agent, the store on the board's own filesystem, the signer,
and the sync session (``dock_begin``/``dock_io``/``dock_end`` carry the host's bytes, since
the REPL owns the console and the board cannot block on it).

The steps behave as on the simulator's virtual recorder (``simulator.device``), so a
scenario reaches the same verdicts on both. The commands are documented in ``docs/hil.md``.
"""

import hashlib
import os

from firmware.agent import boot
from firmware.errors import ConfigError, FirmwareError
from firmware.hal import Battery, Camera, Clock, Indicators
from firmware.link import DeviceLink
from firmware.provision import installed_config, load_device_key, pinned_host_keys, read_file
from firmware.recorder import PAUSED, RECORDING, RESUMING
from firmware.runloop import RunLoop
from firmware.store import SEG_SUFFIX, Store, scan_records
from firmware.storelock import StoreClaim, claim
from protocol.hostconfig import ConfigRejected
from protocol.ledger import parse_entry
from protocol.registry import (
    EV_CLOCK_SET,
    EV_CONFIG_APPLIED,
    EV_HOST_RECEIPT,
    EV_NO_RECORD,
    EV_PAUSE,
    EV_POWER_LOSS_RECOVERED,
    EV_RECORD_REFUSED,
    EV_RECORD_START,
    EV_RECORD_STOP,
    EV_RESUME,
    EV_SELF_CHECK,
    EVENT_NAMES,
    F_DETAIL,
    F_EVENT,
    F_REASON,
    F_RECORDING,
    F_WALL_MS,
    KIND_CHUNK,
    NO_RECORD_NAMES,
    PAUSE_NAMES,
)
from protocol.signer import make_signer

DEFAULT_START_MS = 1795392000000  # 2026-11-23 08:00 China Standard Time
RTC_RESET_MS = 946684800000  # 2000-01-01 00:00 UTC: what an RTC reads once it lost the time
DEFAULT_FPS = 5
DEFAULT_JUMP_S = -3600  # a clock_jump without seconds: the RTC goes back an hour
LATER_MS = 60000  # a new run on a board with a ledger starts this long after its last entry
DEFAULT_CARD_BYTES = 64 * 1000 * 1000 * 1000  # a 64 GB card: a shift's room at 8 Mbit/s
MB = 1024 * 1024


# The steps a bench runs, and the keys each takes besides "do" (and "n", the step number a
# scenario loader adds). "wav" is accepted and played as synthetic audio: a board on a test
# bench has no sound files.
STEP_KEYS = {
    "power_on": ("battery",),
    "power_off": (),
    "record": (),
    "announce": ("seconds", "wav"),
    "narrate": ("seconds", "wav"),
    "film": ("seconds", "minutes", "hours", "fps"),
    "pause": ("reason",),
    "wait": ("seconds", "minutes", "hours", "days"),
    "resume": (),
    "say_reason": ("seconds", "wav"),
    "stop": (),
    "mark_important": (),
    "no_record": ("reason", "note"),
    "fault": ("kind", "seconds", "leave_mb"),
}
# Steps that need the recorder on (the others work on a board that is off).
NEEDS_POWER = (
    "power_off",
    "record",
    "announce",
    "narrate",
    "film",
    "pause",
    "resume",
    "say_reason",
    "stop",
    "mark_important",
    "no_record",
)
# Faults a board on a test bench can suffer; the others need the simulator's hardware.
FAULTS = (
    "power_loss",  # the power goes at once: nothing is closed; the next power_on recovers
    "dead_battery",  # the same cut, and the battery reads 0 % until a power_on charges it
    "clock_reset",  # the RTC lost the time: it reads 2000-01-01 and says it is not set
    "clock_jump",  # the RTC jumps by `seconds` (negative: back) without the host
    "camera_failure",  # the camera stops answering (the next self-check sees it)
    "camera_repair",
    "full_storage",  # other data fills the card, leaving `leave_mb` free (default 0)
)
DURATION_KEYS = (("seconds", 1000), ("minutes", 60000), ("hours", 3600000), ("days", 86400000))

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from firmware.agent import Agent


def N_(msg_id: str) -> str:
    """``msg_id`` unchanged: marks a message id of the host's catalogue for its extractor
    (host.i18n.N_, which the firmware cannot import)."""
    return msg_id


class BenchError(FirmwareError):
    """A command the bench cannot carry out; the message says what to send instead."""


def _code(names: dict, name: object, what: str) -> int:
    """The registry code for ``name``; "place_change" and "place-change" are the same."""
    if type(name) is str:
        wanted = name.replace("_", "-")
        for code in names:
            if names[code] == wanted:
                return code
    choices = ", ".join([names[c] for c in names])
    raise BenchError("%r is not a %s; use one of: %s" % (name, what, choices))


def duration_ms(step: dict) -> int:
    """A step's seconds, minutes, hours and days, added up, in milliseconds."""
    total = 0
    for key, scale in DURATION_KEYS:
        value = step.get(key, 0)
        if (type(value) is not int and type(value) is not float) or value < 0:
            raise BenchError("%s must be a number >= 0, not %r" % (key, value))
        total += int(value * scale)
    return total


class BenchClock(Clock):
    """The board's RTC and monotonic counter, moved only by commands."""

    def __init__(self, wall_ms: int, is_set: bool = True, true_ms: int = -1) -> None:
        self.wall = wall_ms
        self.mono = 0
        self.set = is_set
        # The scenario's own time, which a reset or a jump of the RTC does not change.
        self.true = true_ms if true_ms >= 0 else wall_ms

    def wall_ms(self) -> int:
        return self.wall

    def mono_ms(self) -> int:
        return self.mono

    def is_set(self) -> bool:
        return self.set

    def advance(self, ms: int) -> None:
        self.wall += ms
        self.mono += ms
        self.true += ms

    def set_wall(self, wall_ms: int) -> None:
        """The host set the time while docked (the ledger records it as a clock change)."""
        self.wall = wall_ms
        self.set = True


class BenchCamera(Camera):
    """Synthetic frames: the overlay and a counter; a keyframe once a second."""

    def __init__(self, clock: BenchClock) -> None:
        self.clock = clock
        self.ok = True
        self.fps = DEFAULT_FPS
        self.count = 0

    def read(self, overlay: str) -> "tuple | None":
        if not self.ok:
            return None
        data = ("%s|frame %d" % (overlay, self.count)).encode()
        keyframe = self.count % self.fps == 0
        self.count += 1
        return data, keyframe, self.clock.mono_ms()

    def working(self) -> bool:
        return self.ok


class BenchBattery(Battery):
    def __init__(self, percent: int) -> None:
        self.level = percent

    def percent(self) -> int:
        return self.level


class BenchIndicators(Indicators):
    """Keeps the prompts, so a command can say what the officer heard."""

    def __init__(self) -> None:
        self.prompts: list = []

    def prompt(self, prompt_id: int, text: str) -> None:
        self.prompts.append(_said(N_("sim.dev.prompt"), "prompt: %s" % text, text=text))


class BenchStore(Store):
    """The board's store on a card of ``card_bytes`` (0: the filesystem's own free space),
    ``taken`` bytes of which hold other data (a full-storage fault)."""

    def __init__(self, path: str, card_bytes: int, taken: int) -> None:
        Store.__init__(self, path)
        self.card_bytes = card_bytes
        self.taken = taken

    def card_free(self) -> int:
        if self.card_bytes > 0:
            used = self.usage()
            return self.card_bytes - used["ledger"] - used["media"]
        return Store.free_bytes(self)

    def free_bytes(self) -> int:
        free = self.card_free()
        return free if free < 0 else max(free - self.taken, 0)


class _Pipe:
    """The docking link's transport while the host relays its bytes through the REPL."""

    def __init__(self) -> None:
        self.out = bytearray()

    def read(self) -> bytes:
        return b""  # the host's bytes come in through TestBench.dock_io, never by polling

    def at_eof(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.out.extend(data)

    def take(self) -> bytes:
        data = bytes(self.out)
        self.out = bytearray()
        return data


class TestBench:
    """One board's recorder on virtual hardware, driven one scenario step at a time.

    ``hardware`` is what ``hardware()`` said before a power cut reset the board, so the
    RTC, battery, camera and card carry over as real hardware would. ``seed`` is entropy
    from the host for the sync session's nonces, on a board without ``os.urandom``.
    ``config`` holds recorder settings (``firmware.recorder.DEFAULTS``) for every boot.
    """

    __test__ = False  # a name pytest would otherwise try to collect

    def __init__(
        self,
        store_dir: str,
        start_ms: int = DEFAULT_START_MS,
        seed: bytes = b"",
        officer_id: str = "",
        fps: int = DEFAULT_FPS,
        card_bytes: int = DEFAULT_CARD_BYTES,
        config: "dict | None" = None,
        hardware: "dict | None" = None,
    ) -> None:
        self.store_dir = store_dir
        key = load_device_key(store_dir)  # ProvisionError says how to provision it
        self.device_id = key.device_id
        self.public_key = key.public
        self.signer = make_signer(key.seed)
        self.officer_id = officer_id
        self.fps = fps
        self.card_bytes = card_bytes
        self.config = config
        self.seed = bytes(seed)
        self.drawn = 0
        hw = hardware or {}
        if hardware is None:
            # A board lives on between runs: its RTC cannot be earlier than its own ledger.
            last = self._last_wall()
            if last >= start_ms:
                start_ms = last + LATER_MS
        wall = hw.get("wall_ms", start_ms)
        self.clock = BenchClock(wall, hw.get("clock_set", True), hw.get("true_ms", wall))
        self.camera = BenchCamera(self.clock)
        self.camera.ok = hw.get("camera_ok", True)
        self.battery = BenchBattery(hw.get("battery", 100))
        self.taken = hw.get("taken", 0)
        self.leave = hw.get("leave", -1)  # free bytes a full-storage fault leaves, from boot
        self.indicators = BenchIndicators()
        self.agent: Agent | None = None
        self.link: DeviceLink | None = None
        self.pipe = _Pipe()
        self.audio_count = 0
        self.audio_tag = "scene"  # what the synthetic audio blocks say they are
        self.loop: RunLoop | None = None  # the running agent's, made at each boot
        self.boot_head = 0
        self.claim: StoreClaim | None = None  # held while the agent runs
        self.said: list = []  # the last step's lines, with their message ids (``_said``)

    # --- what the host reads -------------------------------------------------------------

    def identity(self) -> tuple:
        """``(device_id, public_key)`` of the provisioned device key."""
        return self.device_id, self.public_key

    def hardware(self) -> dict:
        """The virtual hardware's state, for the next bench after a power cut."""
        return {
            "wall_ms": self.clock.wall,
            "true_ms": self.clock.true,
            "clock_set": self.clock.set,
            "camera_ok": self.camera.ok,
            "battery": self.battery.level,
            "taken": self.taken,
            "leave": self.leave,
        }

    def status(self) -> dict:
        """What the recorder's display shows, or ``{"state": "OFF", ...}``."""
        if self.agent is None:
            return {"state": "OFF", "time_ms": self.clock.wall}
        return self.agent.recorder.status(self.clock.wall)

    def entries(self, from_seq: int = 0, limit: int = 32) -> list:
        """Up to ``limit`` encoded ledger entries from ``from_seq`` on, as the store holds them."""
        out: list = []
        for raw in self._stored(from_seq):
            if len(out) >= limit:
                break
            out.append(raw)
        return out

    # --- the generic entry point ---------------------------------------------------------

    def run(self, step: dict, ids: bool = False) -> list:
        """Carry out one scenario step (a dict with "do"); return lines of what happened, in
        English, or with ``ids`` each as ``(english, msg_id, fields)`` (see ``_said``), which
        the host says in the reader's language."""
        if type(step) is not dict or "do" not in step:
            raise BenchError("a step is a dict with a 'do' key, not %r" % (step,))
        do = step["do"]
        if do == "dock":
            raise BenchError("a dock is relayed by the host: dock_begin, dock_io, dock_end")
        keys = STEP_KEYS.get(do)
        if keys is None:
            steps = ", ".join(sorted(STEP_KEYS))
            raise BenchError("unknown step %r; a bench runs: %s, dock" % (do, steps))
        args = {}
        for key in step:
            if key == "do" or key == "n":
                continue
            if key not in keys:
                takes = ", ".join(keys) or "nothing"
                raise BenchError("step %s has no key %r; it takes %s" % (do, key, takes))
            args[key] = step[key]
        lines = getattr(self, do)(**args)
        return self.said if ids else lines

    # --- one method per step -------------------------------------------------------------

    def power_on(self, battery: "int | float | None" = None) -> list:
        """Boot the agent on the provisioned store and run the pre-use self-check (R-DEV-7)."""
        return self._step("power_on", self._power_on, battery)

    def power_off(self) -> list:
        """Switch off: a running recording is stopped first, then the store is closed."""
        return self._step("power_off", self._power_off)

    def record(self) -> list:
        """Press record; the recorder prompts the announcement."""
        return self._step("record", self._input, "press_record")

    def announce(self, seconds: "int | float" = 4, wav: str = "") -> list:
        """The officer says the standard phrase (R-DEV-8), then ``announce_done``."""
        return self._step("announce", self._speak, seconds, wav, "announce", "announce_done")

    def narrate(self, seconds: "int | float" = 4, wav: str = "") -> list:
        """The opening narration of time, place, officers and action (R-DEV-12)."""
        return self._step("narrate", self._speak, seconds, wav, "narration", "narration_done")

    def say_reason(self, seconds: "int | float" = 3, wav: str = "") -> list:
        """After ``resume``, the officer states why recording stopped (R-DEV-9)."""
        return self._step("say_reason", self._speak, seconds, wav, "reason", "spoken_reason_done")

    def film(
        self,
        seconds: "int | float" = 0,
        minutes: "int | float" = 0,
        hours: "int | float" = 0,
        fps: "int | None" = None,
    ) -> list:
        """Frames at ``fps`` and a 200 ms audio block at a time, while the recorder captures."""
        return self._step("film", self._film, seconds, minutes, hours, fps)

    def pause(self, reason: str) -> list:
        """Stop recording for an objective reason (``PAUSE_NAMES``, R-DEV-9)."""
        return self._step("pause", self._input, "pause", _code(PAUSE_NAMES, reason, "reason"))

    def resume(self) -> list:
        """Record again; the recorder prompts for the spoken reason."""
        return self._step("resume", self._input, "resume")

    def stop(self) -> list:
        return self._step("stop", self._input, "press_stop")

    def mark_important(self) -> list:
        return self._step("mark_important", self._input, "mark_important")

    def no_record(self, reason: str, note: str = "") -> list:
        """The work record of a duty that could not be recorded (R-DEV-11)."""
        code = _code(NO_RECORD_NAMES, reason, "reason for not recording")
        return self._step("no_record", self._input, "no_record", code, note)

    def wait(
        self,
        seconds: "int | float" = 0,
        minutes: "int | float" = 0,
        hours: "int | float" = 0,
        days: "int | float" = 0,
    ) -> list:
        """Virtual time passes; a recording that is running keeps recording."""
        ms = duration_ms({"seconds": seconds, "minutes": minutes, "hours": hours, "days": days})
        return self._step("wait", self._wait, ms)

    def fault(
        self, kind: str, seconds: "int | float | None" = None, leave_mb: "int | float" = 0
    ) -> list:
        """Stage one of ``FAULTS``; the others need the simulator's virtual hardware."""
        if kind not in FAULTS:
            raise BenchError(
                "fault %r is not available on a board; a bench stages: %s"
                % (kind, ", ".join(FAULTS))
            )
        return self._step("fault", getattr(self, "_fault_" + kind), seconds, leave_mb)

    # --- docking through the command channel ---------------------------------------------

    def dock_begin(self, serial: bool = False) -> None:
        """Open a sync session; the host then relays its bytes through ``dock_io``.

        ``serial`` picks the framing the host daemon expects: COBS frames (a serial port)
        or length-prefixed frames (TCP).
        """
        agent = self._need_on("dock")
        self.pipe = _Pipe()
        self.link = DeviceLink(
            agent,
            self.signer,
            self._host_keys(),
            self.pipe,
            serial is True,
            self._random_bytes,
            set_clock=self.clock.set_wall,
        )

    def dock_io(self, data: bytes) -> bytes:
        """Feed bytes the host sent; return the bytes the device sends back."""
        link = self.link
        if link is None:
            raise BenchError("no sync session: call dock_begin first")
        if data and not link.closed:
            link.feed(data)
        return self.pipe.take()

    def dock_closed(self) -> str:
        """Why the sync session ended, or "" while it is open."""
        return self.link.closed if self.link is not None else "no session"

    def dock_end(self) -> dict:
        """End the sync session (the cradle has charged the battery meanwhile):
        ``{"device_id", "result", "receipts"}``."""
        link = self.link
        if link is None:
            raise BenchError("no sync session: call dock_begin first")
        self.link = None
        self.battery.level = 100  # docked is charging
        result = link.closed or "link lost"
        return {"device_id": self.device_id, "result": result, "receipts": list(link.receipts)}

    # --- the steps' work -----------------------------------------------------------------

    def _step(self, name: str, work: "Callable", *args: object) -> list:
        """Run ``work``; report what it logged, what the officer heard, and any refusal."""
        if name in NEEDS_POWER:
            self._need_on(name)
        first = self._head()
        self.indicators.prompts = []
        try:
            lines = work(*args)
        except BenchError:
            raise
        except FirmwareError as exc:  # the recorder said no, as it would to an officer
            why = str(exc)
            english = "the recorder refused %s: %s" % (name, why)
            lines = [_said(N_("sim.dev.refused"), english, do=name, why=why)]
        self.said = self._report(first, lines)
        return [said[0] for said in self.said]

    def _power_on(self, battery: object) -> list:
        if self.agent is not None:
            return [_said(N_("sim.dev.already_on"), "already on")]
        if battery is not None:
            self.battery.level = int(battery)  # type: ignore[call-overload]  # int() refuses a non-number
        self.clock.mono = 0  # counts from each boot
        # The booted agent is the store's only writer until the power goes (R-DEV-2); on a
        # board the claim is a no-op, on CPython it keeps any other writer out.
        self.claim = claim(self.store_dir, "a test bench")
        try:
            return self._boot()
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        held, self.claim = self.claim, None
        if held is not None:
            held.release()

    def _boot(self) -> list:
        store = BenchStore(self.store_dir, self.card_bytes, self.taken)
        if self.leave >= 0:
            self.taken = max(store.card_free() - self.leave, 0)
            store.taken = self.taken
            self.leave = -1
        self.boot_head = store.head()[0]
        self.agent = boot(
            self.store_dir,
            self.signer,
            self.device_id,
            self.officer_id,
            self.clock,
            self.camera,
            self.indicators,
            self.battery,
            config=self.config,
            host_keys=self._host_keys(),
            store=store,
        )
        self.loop = RunLoop(self.agent, self._audio)
        level = self.battery.level
        lines = [
            _said(N_("sim.board.powered_on"), "powered on, battery %d%%" % level, battery=level)
        ]
        lines.extend(self._apply_config())  # MicroPython has no [*x] displays
        return lines

    def _power_off(self) -> list:
        agent = self._need_on("power_off")
        lines = []
        if agent.recorder.state in (RECORDING, RESUMING, PAUSED):
            agent.input("press_stop")
            lines.append(_said(N_("sim.board.stopped_first"), "stopped the recording first"))
        try:
            agent.shut_down()
        finally:
            self.agent = None
            self.link = None
            self._release()
        lines.append(_said(N_("sim.dev.powered_off"), "powered off"))
        return lines

    def _input(self, name: str, *args: object) -> list:
        self._need_on(name).input(name, *args)
        return []

    def _speak(self, seconds: object, wav: str, tag: str, done: str) -> list:
        lines = []
        if wav:
            english = "%s: a bench plays no sound files; synthetic speech instead" % wav
            lines.append(_said(N_("sim.board.no_wav"), english, wav=wav))
        self._pass(duration_ms({"seconds": seconds}), self.fps, tag)
        self._need_on(done).input(done)
        return lines

    def _film(self, seconds: object, minutes: object, hours: object, fps: object) -> list:
        if fps is None:
            fps = self.fps
        if type(fps) is not int or not 1 <= fps <= 1000:
            raise BenchError("fps must be an integer from 1 to 1000, not %r" % (fps,))
        ms = duration_ms({"seconds": seconds, "minutes": minutes, "hours": hours})
        if ms <= 0:
            raise BenchError("film needs seconds, minutes or hours above zero")
        frames = self._pass(ms, fps, "scene")
        english = "filmed %d ms: %d frames" % (ms, frames)
        return [_said(N_("sim.board.filmed"), english, ms=ms, frames=frames)]

    def _wait(self, ms: int) -> list:
        agent = self.agent
        running = agent is not None and agent.recorder.state in (RECORDING, RESUMING)
        frames = self._pass(ms, self.fps if running else 0, "scene")
        if frames:
            english = "%d ms passed while recording (%d frames)" % (ms, frames)
            return [_said(N_("sim.board.waited_recording"), english, ms=ms, frames=frames)]
        return [_said(N_("sim.board.waited"), "%d ms passed" % ms, ms=ms)]

    def _pass(self, ms: int, fps: int, tag: str) -> int:
        """Let ``ms`` of virtual time pass: film at ``fps`` (0: not at all) and record audio
        while the recorder captures, tick it otherwise. Return how many frames were captured."""
        loop = self.loop
        if self.agent is None or loop is None:  # off: only the RTC runs
            self.clock.advance(ms)
            return 0
        self.camera.fps = fps or DEFAULT_FPS
        self.audio_tag = tag
        return loop.pass_time(ms, 1000 // fps if fps else 0, self.clock.advance)

    def _audio(self) -> bytes:
        """A synthetic audio block, different every time (a bench has no microphone)."""
        data = ("%s audio %d @%d" % (self.audio_tag, self.audio_count, self.clock.wall)).encode()
        self.audio_count += 1
        return data

    # --- faults ---------------------------------------------------------------------------

    def _fault_power_loss(self, seconds: object, leave_mb: object) -> list:
        return self._power_cut(_said(N_("sim.dev.power_went"), "the power went"))

    def _fault_dead_battery(self, seconds: object, leave_mb: object) -> list:
        self.battery.level = 0
        return self._power_cut(_said(N_("sim.dev.battery_empty"), "the battery is empty"))

    def _power_cut(self, why: tuple) -> list:
        if self.agent is None:
            english = "no power to lose: the recorder is off"
            return [_said(N_("sim.board.no_power_to_lose"), english)]
        # Nothing is closed or synced: what the store had not made durable is lost, and the
        # next boot recovers from what is on the card (R-DEV-14).
        self.agent = None
        self.link = None
        self._release()  # the writer went with the power
        return [_said(N_("sim.dev.power_lost"), "power lost (%s)" % why[0], why=why)]

    def _fault_clock_reset(self, seconds: object, leave_mb: object) -> list:
        self.clock.wall = RTC_RESET_MS
        self.clock.set = False
        english = "the RTC lost the time: it reads 2000-01-01 and is not set"
        return [_said(N_("sim.board.clock_reset"), english)]

    def _fault_clock_jump(self, seconds: object, leave_mb: object) -> list:
        if seconds is None:
            seconds = DEFAULT_JUMP_S
        if type(seconds) is not int and type(seconds) is not float:
            raise BenchError("clock_jump needs seconds (a number), not %r" % (seconds,))
        ms = int(seconds * 1000)
        self.clock.wall += ms
        english = "the RTC jumped %d ms without the host" % ms
        return [_said(N_("sim.board.clock_jump"), english, ms=ms)]

    def _fault_camera_failure(self, seconds: object, leave_mb: object) -> list:
        self.camera.ok = False
        return [_said(N_("sim.dev.camera_failed"), "the camera failed")]

    def _fault_camera_repair(self, seconds: object, leave_mb: object) -> list:
        self.camera.ok = True
        return [_said(N_("sim.dev.camera_repaired"), "the camera works again")]

    def _fault_full_storage(self, seconds: object, leave_mb: object) -> list:
        if (type(leave_mb) is not int and type(leave_mb) is not float) or leave_mb < 0:
            raise BenchError("leave_mb must be a number >= 0, not %r" % (leave_mb,))
        leave = int(leave_mb * MB)
        if self.agent is None:
            self.leave = leave  # measured against the card at the next boot
            english = "other data will fill the card, leaving %d bytes" % leave
            return [_said(N_("sim.board.card_will_fill"), english, leave=leave)]
        store = self.agent.store
        self.taken = max(store.card_free() - leave, 0)  # type: ignore[attr-defined]  # the bench's card store
        store.taken = self.taken  # type: ignore[attr-defined]  # the bench's card store
        free = store.free_bytes()
        english = "other data filled the card: %d bytes left" % free
        return [_said(N_("sim.dev.card_filled"), english, free=free)]

    # --- helpers -------------------------------------------------------------------------

    def _need_on(self, what: str) -> "Agent":
        if self.agent is None:
            raise BenchError("%s needs the recorder on: add a power_on step first" % what)
        return self.agent

    def _head(self) -> int:
        return self.agent.store.head()[0] if self.agent is not None else -1

    def _segments(self) -> list:
        """The store's ledger segment files, oldest first (none before the first boot)."""
        folder = self.store_dir + "/ledger"
        try:
            names = os.listdir(folder)
        except OSError:
            return []
        return [folder + "/" + n for n in sorted(names) if n.endswith(SEG_SUFFIX)]

    def _last_wall(self) -> int:
        """The wall time of the newest stored entry, or -1."""
        segments = self._segments()
        records = scan_records(read_file(segments[-1]))[0] if segments else []
        if not records:
            return -1
        return parse_entry(records[-1][1]).fields[F_WALL_MS]

    def _stored(self, from_seq: int) -> "Iterable":
        if self.agent is not None:
            return self.agent.store.entries(from_seq)
        # Off: read the segments as they are; opening a Store would recover, and write.
        out = []
        seq = 0
        for path in self._segments():
            for _offset, payload in scan_records(read_file(path))[0]:
                if seq >= from_seq:
                    out.append(payload)
                seq += 1
        return out

    def _random_bytes(self, n: int) -> bytes:
        urandom = getattr(os, "urandom", None)
        if urandom is not None:
            return bytes(urandom(n))
        if not self.seed:
            raise BenchError("this board has no os.urandom: give TestBench a seed from the host")
        # A board without a random source gets the host's entropy, stretched by a counter.
        out = b""
        while len(out) < n:
            self.drawn += 1
            out += hashlib.sha256(self.seed + self.drawn.to_bytes(8, "big")).digest()
        return out[:n]

    def _host_keys(self) -> dict:
        return pinned_host_keys(self.store_dir)

    def _apply_config(self) -> list:
        """Apply the host-signed config that provisioning left, unless already applied."""
        agent = self.agent
        raw = installed_config(self.store_dir)
        if raw is None or agent is None:
            return []
        try:
            agent.apply_config(raw)
        except ConfigRejected as exc:
            if "replay" in str(exc):
                return []  # applied at an earlier boot: the ledger has it
            return [_config_refused(exc)]
        except ConfigError as exc:
            return [_config_refused(exc)]
        return []

    def _report(self, first: int, lines: list) -> list:
        """``lines``, then what the step wrote to the ledger and what the officer heard."""
        agent = self.agent
        if agent is not None:
            if first < 0:
                first = self.boot_head
            chunks = 0
            for raw in agent.store.entries(first):
                e = parse_entry(raw)
                if e.kind == KIND_CHUNK:
                    chunks += 1
                else:
                    lines.append(_event_line(e.seq, e.fields))
            if chunks:
                english = "%d chunk(s) signed and stored" % chunks
                lines.append(_said(N_("sim.board.chunks"), english, count=chunks))
        lines.extend(self.indicators.prompts)
        self.indicators.prompts = []
        return lines


def _name(names: dict, code: object) -> str:
    return names[code] if code in names else "code %r" % (code,)


def _said(msg_id: str, english: str, **fields: object) -> tuple:
    """A line as the bench reports it: ``(english, msg_id, fields)``. The English is the
    line itself; ``msg_id`` names the same sentence in the host's catalogue (the board has
    none) and ``fields`` the values it names, where a value may itself be such a line or a
    list of them, so that the host says it again in the reader's language."""
    return (english, msg_id, fields)


def _term(kind: str, name: str) -> tuple:
    """A registry name (a pause reason, an event) kept as it is in English; the host's
    catalogue has its word in other languages as ``kind.name`` ("pause.place-change")."""
    return _said(kind + "." + name, name)


def _config_refused(exc: Exception) -> tuple:
    why = str(exc)
    english = "the provisioned config was refused: %s" % why
    return _said(N_("sim.board.config_refused"), english, why=why)


def _event_line(seq: int, f: dict) -> tuple:
    """One line for one logged event, in the words of a scenario."""
    code = f.get(F_EVENT)
    detail = f.get(F_DETAIL, {})
    rec = f.get(F_RECORDING)
    r = "r%d" % int.from_bytes(rec, "big") if rec is not None else "-"
    if code == EV_RECORD_START:
        english = "seq %d: recording %s started" % (seq, r)
        return _said(N_("sim.board.ev.start"), english, seq=seq, rec=r)
    if code == EV_RECORD_STOP:
        chunks = detail.get("chunks", 0)
        english = "seq %d: recording %s stopped, %d chunk(s)" % (seq, r, chunks)
        return _said(N_("sim.board.ev.stop"), english, seq=seq, rec=r, chunks=chunks)
    if code == EV_PAUSE:
        reason = _name(PAUSE_NAMES, f.get(F_REASON))
        english = "seq %d: paused: %s" % (seq, reason)
        return _said(N_("sim.board.ev.pause"), english, seq=seq, reason=_term("pause", reason))
    if code == EV_RESUME:
        english = "seq %d: resumed, spoken reason kept" % seq
        return _said(N_("sim.board.ev.resume"), english, seq=seq)
    if code == EV_NO_RECORD:
        reason = _name(NO_RECORD_NAMES, f.get(F_REASON))
        english = "seq %d: not recorded: %s" % (seq, reason)
        term = _term("no_record", reason)
        return _said(N_("sim.board.ev.no_record"), english, seq=seq, reason=term)
    if code == EV_RECORD_REFUSED:
        why = detail.get("why", "?")
        english = "seq %d: record refused: %s" % (seq, why)
        return _said(N_("sim.board.ev.refused"), english, seq=seq, why=why)
    if code == EV_SELF_CHECK:
        failed = detail.get("failed", [])
        if not failed:
            return _said(N_("sim.board.ev.check_ok"), "seq %d: self-check ok" % seq, seq=seq)
        if detail.get("can_record"):
            verdict = _said(N_("sim.board.can_record"), "can record")
        else:
            verdict = _said(N_("sim.board.cannot_record"), "cannot record")
        english = "seq %d: self-check failed (%s); %s" % (seq, ", ".join(failed), verdict[0])
        checks = [_said("sim.board.check." + name, name) for name in failed]
        msg_id = N_("sim.board.ev.check_failed")
        return _said(msg_id, english, seq=seq, failed=checks, verdict=verdict)
    if code == EV_POWER_LOSS_RECOVERED:
        last = detail.get("last_seq", -1)
        english = "seq %d: power loss recovered after seq %d" % (seq, last)
        return _said(N_("sim.board.ev.recovered"), english, seq=seq, last=last)
    if code == EV_CLOCK_SET:
        by = detail.get("by", "?")
        english = "seq %d: clock set by %s" % (seq, by)
        return _said(N_("sim.board.ev.clock_set"), english, seq=seq, by=by)
    if code == EV_CONFIG_APPLIED:
        by = detail.get("by", "?")
        english = "seq %d: config applied, signed by %s" % (seq, by)
        return _said(N_("sim.board.ev.config"), english, seq=seq, by=by)
    if code == EV_HOST_RECEIPT:
        through = detail.get("through_seq", -1)
        english = "seq %d: host receipt through seq %d" % (seq, through)
        return _said(N_("sim.board.ev.receipt"), english, seq=seq, through=through)
    name = _name(EVENT_NAMES, code)
    english = "seq %d: %s" % (seq, name)
    return _said(N_("sim.board.ev.other"), english, seq=seq, event=_term("event", name))
