"""A virtual recorder: the unchanged firmware agent on simulated hardware and virtual time.

``VirtualDevice`` boots ``firmware.agent`` with the simulator's hardware (a rendered camera, a
microphone, a battery, a small SD card, an RTC that drifts, a GPS track, buttons) and runs the
steps of a scenario against it. Its ``codec`` setting chooses the footage: "mjpeg" (the
default) writes raw chunks, every frame a JPEG and every audio block PCM, as boards do;
"h264" and "h265" put the camera and microphone through the Linux port's encoders
(``simulator.hardware.encoder``) into fragmented MP4 chunks, as ``sealcam record`` does.
Time is virtual: filming renders and signs every frame, but a wait of hours costs only the
ticks the recorder needs. Faults are real where they can be: a power cut tears the write
under way on the card and the next boot recovers from the card as it is; a full card refuses
writes the way a card does; an edit behind the agent's back changes the bytes of the store on
disk.
"""
# micropython: skip (the simulator runs on CPython only)

import random
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from firmware.agent import Agent, boot
from firmware.errors import FirmwareError, StoreError
from firmware.hal import Camera, Indicators
from firmware.recorder import (
    PAUSED,
    RECORDING,
    RESUMING,
    STATE_NAMES,
)
from firmware.runloop import AUDIO_BLOCK_MS, RunLoop
from firmware.storelock import StoreClaim, StoreInUse, claim
from host import i18n
from protocol.crc32 import crc32
from protocol.keys import DeviceKey, encode_key
from protocol.registry import MEDIA_AAC, MEDIA_H264, MEDIA_H265, MEDIA_MJPEG, MEDIA_PCM
from protocol.signer import generate_seed, make_signer
from simulator.errors import ScenarioError
from simulator.hardware import (
    Buttons,
    CardStore,
    GpsTrack,
    SceneCamera,
    SdCard,
    SimBattery,
    SimClock,
    SimMicrophone,
)
from simulator.said import Said, Term, line
from simulator.scenario import CODECS, NO_RECORD_CODES, PAUSE_CODES, duration_ms

if TYPE_CHECKING:
    from protocol.framing import Transport
    from simulator.hardware.encoder import EncodedSound
    from simulator.hardware.sdcard import _CardFile

DEFAULT_START = "2026-11-23T08:00:00+08:00"
DEFAULT_GPS = [[39.9087, 116.3975], [39.9100, 116.4030], [39.9140, 116.4040]]
BLOCK_MS = AUDIO_BLOCK_MS  # one audio block
BATTERY_EVERY_MS = 60_000
DEFAULT_CODEC = "mjpeg"  # what boards and older stores write, and every scenario before codecs
VIDEO_MEDIA = {"h264": MEDIA_H264, "h265": MEDIA_H265}


class PowerCut(BaseException):
    """The power went. A BaseException, so no handler in the firmware can carry on past it:
    after a cut nothing more is written, as on a device whose power is gone."""


DEFAULT_ID = "SC-SIM-0001"
DEFAULT_OFFICER = "P-0427"


def nth_device(settings: dict, i: int) -> dict:
    """The settings of the ``i``-th of several devices alike (0 is the one described):
    the next ids and officer numbers along, and its own seed, so scenes and keys differ."""
    if i == 0:
        return dict(settings)
    out = dict(settings)
    out["id"] = _count_on(settings.get("id", DEFAULT_ID), i)
    out["officer"] = _count_on(settings.get("officer", DEFAULT_OFFICER), i)
    out["seed"] = int(settings.get("seed", 1)) + i
    return out


def _count_on(name: str, i: int) -> str:
    """``name`` with its trailing number ``i`` further on: SC-SIM-0001, 2 -> SC-SIM-0003."""
    j = len(name)
    while j > 0 and name[j - 1].isdigit():
        j -= 1
    if j == len(name):
        return "%s-%d" % (name, i + 1)
    digits = name[j:]
    return name[:j] + str(int(digits) + i).zfill(len(digits))


class _CutFile:
    """A file on the card that may lose power in the middle of a write."""

    def __init__(self, inner: "_CardFile | IO[Any]", power: "_Power") -> None:
        self._inner = inner
        self._power = power

    def write(self, data: bytes) -> int:
        self._power.check()
        if self._power.count_write():
            # The card took part of this write when the power went.
            keep = self._power.rng.randrange(len(data) + 1) if data else 0
            self._inner.write(bytes(data[:keep]))
            self._inner.flush()
            self._power.cut()
        return self._inner.write(data)

    def flush(self) -> None:
        self._power.check()
        self._inner.flush()

    def truncate(self, size: "int | None" = None) -> int:
        self._power.check()
        return self._inner.truncate(size)

    def close(self) -> None:
        self._power.files.discard(self)
        self._inner.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def __enter__(self) -> "_CutFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Power:
    """The device's supply, as the card sees it: on, or cut at a chosen write."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.writes_left = -1  # -1: no cut planned
        self.dead = False
        self.files: set = set()

    def count_write(self) -> bool:
        if self.writes_left < 0:
            return False
        self.writes_left -= 1
        return self.writes_left == 0

    def check(self) -> None:
        if self.dead:
            raise PowerCut(line("sim.dev.no_power"))

    def cut(self) -> None:
        self.dead = True
        raise PowerCut(line("sim.dev.power_went_writing"))


class _Officer(Indicators):
    """What the officer hears and sees, kept for the report."""

    def __init__(self, log: "list") -> None:
        self.log = log

    def prompt(self, prompt_id: int, text: str) -> None:
        # The recorder's own words (Chinese, as it says them), in every report language.
        self.log.append(line("sim.dev.prompt", text=text))

    def show(self, name: str, value: object) -> None:
        if name == "buzzer":
            # The officer's terminal names each sound (terminal.po, "buzzer." + sound).
            sound = Term(str(value), "buzzer.%s" % value)
            self.log.append(line("sim.dev.buzzer", sound=sound))


class VirtualDevice:
    """One simulated recorder and its store in ``workdir``."""

    def __init__(self, workdir: str, settings: "dict | None" = None) -> None:
        from simulator.scenario import parse_time

        cfg = dict(settings or {})
        self.settings = cfg
        self.device_id = cfg.get("id", DEFAULT_ID)
        self.officer = cfg.get("officer", DEFAULT_OFFICER)
        self.fps = int(cfg.get("fps", 5))
        width, height = (int(x) for x in cfg.get("resolution", "640x360").lower().split("x"))
        seed = int(cfg.get("seed", 1))
        self.rng = random.Random(seed)
        self.dir = Path(workdir)
        self.store_dir = self.dir / ("device-%s" % self.device_id)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        start = parse_time(cfg.get("start", DEFAULT_START))
        self.clock = SimClock(start, float(cfg.get("rtc_drift_ppm", 0.0)))
        self.camera = SceneCamera(self.clock, width, height, seed=seed)
        self.microphone = SimMicrophone(self.clock, block_ms=BLOCK_MS)
        self.battery = SimBattery(
            float(cfg.get("battery", 100.0)), float(cfg.get("battery_hours", 10.0))
        )
        capacity = int(float(cfg.get("sd_card_mb", 32768)) * 1024 * 1024)
        self.card = SdCard(str(self.store_dir), capacity)
        self.gps = GpsTrack(self.clock, [tuple(p) for p in cfg.get("gps", DEFAULT_GPS)])
        self.buttons = Buttons()
        self.codec = str(cfg.get("codec", DEFAULT_CODEC))
        if self.codec not in CODECS:
            raise ScenarioError(
                i18n.text(
                    "sim.error.codec",
                    device=self.device_id,
                    codec=self.codec,
                    codecs=", ".join(CODECS),
                )
            )
        chunk_ms = int(cfg.get("chunk_ms", 1000))
        if self.codec == "mjpeg":
            # Raw chunks: every simulated frame is a JPEG and every audio block raw PCM.
            media = {"video_media": MEDIA_MJPEG, "audio_media": MEDIA_PCM}
        else:
            # Fragmented MP4 from the Linux port's encoders (simulator.hardware.encoder).
            media = {"video_media": VIDEO_MEDIA[self.codec], "audio_media": MEDIA_AAC}
        self.recorder_config = {"chunk_ms": chunk_ms, **media}
        self.recorder_config["max_chunk_ms"] = max(2000, chunk_ms)
        self.sound: EncodedSound | None = None  # the AAC encoder of the running agent
        self._bitrate_bps = 0  # the encoded path's, measured once
        self.power = _Power(self.rng)
        self._claim: StoreClaim | None = None
        self._claim_store()  # provisioning writes the key into the store
        try:
            self.key = self._key(seed)
        finally:
            self._release_store()
        self.pinned_hosts: dict = {}
        self.agent: Agent | None = None
        self.log: list = []  # (true_ms, Said): what happened, for the report
        self.mic_working = True
        self.power_losses = 0
        self.loop: RunLoop | None = None  # the running agent's, made at each boot
        self._battery_due = 0

    # -- set-up --

    def _key(self, seed: int) -> DeviceKey:
        """The device's key, made once and kept in its store as a provisioned device would."""
        path = self.store_dir / "device.key"
        from protocol.keys import decode_key

        if path.exists():
            return decode_key(path.read_bytes())
        key_seed = generate_seed()
        key = DeviceKey(self.device_id, make_signer(key_seed).public_key(), key_seed)
        path.write_bytes(encode_key(key))
        return key

    @property
    def public_key(self) -> bytes:
        return self.key.public

    def pin_host(self, key_id: str, public: bytes) -> None:
        """Provisioning: the agency host key this device trusts (for signed time, config)."""
        self.pinned_hosts[key_id] = public
        if self.agent is not None:
            self.agent.host_keys[key_id] = public

    def line(self, msg_id: str, **fields: object) -> None:
        """Log what happened: message ``msg_id`` with ``fields`` (``simulator.said``)."""
        self.log.append((self.clock.true_ms, line(msg_id, **fields)))

    def _said(self, said: Said) -> None:
        self.log.append((self.clock.true_ms, said))

    # -- the steps --

    def step(self, step: dict) -> list:
        """Run one scenario step; return the lines it added to the log (each a ``Said``:
        the English line, which can be said in another language)."""
        before = len(self.log)
        do = step["do"]
        handler = getattr(self, "_do_" + do, None)
        if handler is None:
            raise ScenarioError(i18n.text("sim.error.cannot_step", n=step.get("n", "?"), do=do))
        if do not in ("power_on", "wait", "fault", "dock") and self.agent is None:
            raise ScenarioError(i18n.text("sim.error.device_off", n=step.get("n", "?"), do=do))
        try:
            handler(step)
        except PowerCut as cut:
            self._lose_power(cut.args[0] if cut.args else line("sim.dev.power_went"))
        except StoreError as exc:
            # The card failed under the agent: its watchdog restarts it, and the boot carries
            # on from what the store really holds. (The firmware's words are English.)
            self.line("sim.dev.store_failed", why=str(exc))
            self._discard()
            self._do_power_on({})
        except FirmwareError as exc:
            self.line("sim.dev.refused", do=do, why=str(exc))
        return [line for _, line in self.log[before:]]

    def _do_power_on(self, step: dict) -> None:
        if self.agent is not None:
            self.line("sim.dev.already_on")
            return
        if "battery" in step:
            self.battery.charge(float(step["battery"]))
        self.clock.power_cycle()
        self.power = _Power(self.rng)
        officer_log: list = []
        # The running agent is the store's only writer while the device is on (R-DEV-2).
        self._claim_store()
        try:
            store = CardStore(self.card, str(self.store_dir), opener=self._opener)
            agent = self._boot(store, officer_log)
        except BaseException:
            self._release_store()
            raise
        agent.gps = self.gps
        self.agent = agent
        self.officer_log = officer_log
        rec = store.recovery
        if rec.in_flight:
            self.line("sim.dev.recovered", torn=rec.torn_bytes)
        self.line(
            "sim.dev.powered_on",
            state=_state_term(agent.recorder.state),
            battery=int(self.battery.percent()),
            clock=_iso(self.clock.wall_ms()),
        )
        self._flush_officer()
        self.loop = RunLoop(agent, self._audio, audio_block_ms=BLOCK_MS)
        self._battery_due = self.clock.mono_ms() + BATTERY_EVERY_MS

    def _claim_store(self) -> None:
        if self._claim is None:
            try:
                self._claim = claim(str(self.store_dir), "a simulated device (sealcam sim)")
            except StoreInUse as exc:
                raise ScenarioError(
                    i18n.text("sim.error.store_in_use", device=self.device_id, why=exc)
                ) from None

    def _release_store(self) -> None:
        held, self._claim = self._claim, None
        if held is not None:
            held.release()

    def _boot(self, store: CardStore, officer_log: list) -> Agent:
        camera: Camera = self.camera
        encoded = None
        extra: dict = {}
        self.sound = None
        if self.codec != "mjpeg":
            # The encoders start with the power, as a recorder's do: a fresh encoder and
            # packager each boot, the video track learnt from the first access unit.
            from firmware.packager import Fmp4Packager
            from simulator.hardware.encoder import EncodedCamera, EncodedSound, gop_frames

            self.sound = EncodedSound(self.clock, self.microphone.rate, BLOCK_MS)
            packager = Fmp4Packager(None, self.sound.track(), frame_ms=max(1, 1000 // self.fps))
            gop = gop_frames(self.fps, self.recorder_config["chunk_ms"])
            camera = encoded = EncodedCamera(self.camera, self.codec, self.fps, gop, packager)
            extra["packager"] = packager
        agent = boot(
            str(self.store_dir),
            make_signer(self.key.seed),
            self.device_id,
            self.officer,
            self.clock,
            camera,
            _Officer(officer_log),
            self.battery,
            config=self.recorder_config,
            host_keys=self.pinned_hosts,
            store=store,
            bitrate_bps=self._bitrate(),
            **extra,
        )
        if encoded is not None:
            encoded.follow(agent.recorder)  # an IDR at record start and after a resume
        return agent

    def _bitrate(self) -> int:
        """What this camera and microphone write per second, from a frame of the scene (raw
        mode) or from one GOP through the encoder (measured once: it costs an encoder)."""
        if self.codec != "mjpeg":
            if not self._bitrate_bps:
                self._bitrate_bps = self._encoded_bitrate()
            return self._bitrate_bps
        sample = self.camera.render(self.clock.true_ms)
        frame = len(self.camera.encode(sample))
        audio = 8000 * 2 * 8  # 8 kHz, 16-bit PCM
        return frame * 8 * self.fps + audio

    def _encoded_bitrate(self) -> int:
        from firmware.ports.encoder import VideoEncoder
        from simulator.hardware.encoder import gop_frames

        gop = gop_frames(self.fps, self.recorder_config["chunk_ms"])
        encoder = VideoEncoder(self.codec, self.fps, gop)
        step = max(1, 1000 // self.fps)
        size = 0
        for i in range(gop):
            image = self.camera.render(self.clock.true_ms + i * step)
            size += sum(len(s[0]) for s in encoder.encode(image, i * step, i == 0))
        size += sum(len(s[0]) for s in encoder.flush())
        audio = self.sound.bitrate if self.sound is not None else 0
        return size * 8 * self.fps // gop + audio

    def _do_power_off(self, step: dict) -> None:
        agent = self._on()
        if agent.recorder.state in (RECORDING, RESUMING, PAUSED):
            self._press("stop")
        try:
            agent.shut_down()
        finally:
            self.agent = None
            self._release_store()
        self.line("sim.dev.powered_off")

    def _do_record(self, step: dict) -> None:
        self._press("record")
        self.line("sim.dev.record", state=self._state())

    def _do_announce(self, step: dict) -> None:
        self._speak(step, 4)
        self._input("announce_done")
        self.line("sim.dev.announced")

    def _do_narrate(self, step: dict) -> None:
        self._speak(step, 4)
        self._input("narration_done")
        self.line("sim.dev.narrated")

    def _do_film(self, step: dict) -> None:
        fps = int(step.get("fps", self.fps))
        ms = duration_ms(step)
        frames = self._run(ms, fps)
        self.line("sim.dev.filmed", span=_span(ms), frames=frames)

    def _do_wait(self, step: dict) -> None:
        ms = duration_ms(step)
        if self.agent is not None and self.agent.recorder.state in (RECORDING, RESUMING):
            frames = self._run(ms, self.fps)  # a running recording keeps recording
            self.line("sim.dev.waited_recording", span=_span(ms), frames=frames)
        else:
            self._run(ms, 0)
            self.line("sim.dev.waited", span=_span(ms))

    def _do_pause(self, step: dict) -> None:
        self._input("pause", PAUSE_CODES[step["reason"]])
        self.line("sim.dev.paused", reason=Term(step["reason"], "pause.%s" % step["reason"]))

    def _do_resume(self, step: dict) -> None:
        self._press("resume")
        self.line("sim.dev.resumed", state=self._state())

    def _do_say_reason(self, step: dict) -> None:
        self._speak(step, 3)
        self._input("spoken_reason_done")
        self.line("sim.dev.reason_stated")

    def _do_stop(self, step: dict) -> None:
        self._press("stop")
        self.line("sim.dev.stopped")

    def _do_mark_important(self, step: dict) -> None:
        self._press("mark")
        self.line("sim.dev.marked")

    def _do_no_record(self, step: dict) -> None:
        self._input("no_record", NO_RECORD_CODES[step["reason"]], str(step.get("note", "")))
        reason = Term(step["reason"], "no_record.%s" % step["reason"])
        self.line("sim.dev.no_record", reason=reason)

    def _do_fault(self, step: dict) -> None:
        kind = step["kind"]
        getattr(self, "_fault_" + kind)(step)

    # -- faults --

    def _fault_power_loss(self, step: dict) -> None:
        at = step.get("at_write")
        if at is None:
            self.power.dead = True
            self._lose_power(line("sim.dev.power_went"))
            return
        n = self.rng.randrange(1, 200) if at == "random" else int(at)
        self.power.writes_left = n
        nth = Term(_nth(n), i18n.N_("sim.dev.nth"), n=n)  # "23rd" in English
        self.line("sim.dev.power_will_go", nth=nth)

    def _fault_dead_battery(self, step: dict) -> None:
        self.battery.die()
        self.power.dead = True
        self._lose_power(line("sim.dev.battery_empty"))

    def _fault_clock_reset(self, step: dict) -> None:
        self.clock.reset()
        self.line("sim.dev.clock_reset", clock=_iso(self.clock.wall_ms()))

    def _fault_clock_jump(self, step: dict) -> None:
        seconds = float(step.get("seconds", -3600))
        self.clock.set(self.clock.wall_ms() + int(seconds * 1000))
        self.line("sim.dev.clock_jump", seconds=seconds, clock=_iso(self.clock.wall_ms()))

    def _fault_camera_failure(self, step: dict) -> None:
        self.camera.fail()
        self.line("sim.dev.camera_failed")

    def _fault_camera_repair(self, step: dict) -> None:
        self.camera.repair()
        self.line("sim.dev.camera_repaired")

    def _fault_microphone_failure(self, step: dict) -> None:
        self.mic_working = False
        self.line("sim.dev.mic_failed")

    def _fault_microphone_repair(self, step: dict) -> None:
        self.mic_working = True
        self.line("sim.dev.mic_repaired")

    def _fault_microphone_covered(self, step: dict) -> None:
        self.microphone.cover()
        self.line("sim.dev.mic_covered")

    def _fault_microphone_uncovered(self, step: dict) -> None:
        self.microphone.uncover()
        self.line("sim.dev.mic_uncovered")

    def _fault_gps_lost(self, step: dict) -> None:
        self.gps.lose()
        self.line("sim.dev.gps_lost")

    def _fault_gps_found(self, step: dict) -> None:
        self.gps.regain()
        self.line("sim.dev.gps_found")

    def _fault_full_storage(self, step: dict) -> None:
        leave = int(float(step.get("leave_mb", 0)) * 1024 * 1024)
        fill = max(self.card.free_bytes() - leave, 0)
        self.card.fill(fill)
        self.line("sim.dev.card_filled", free=self.card.free_bytes())

    def _fault_edit_store(self, step: dict) -> None:
        """Change the store on the card the way someone with a card reader would."""
        if step.get("target", "media") == "media":
            self._edit_media(step)
        else:
            self._edit_ledger(step)

    def _edit_media(self, step: dict) -> None:
        media = self.store_dir / "media"
        files = sorted(p for p in media.rglob("*") if p.is_file() and "new" not in p.parts)
        if not files:
            raise ScenarioError(i18n.text("sim.error.no_media", n=step["n"]))
        victim = files[len(files) // 2]
        data = bytearray(victim.read_bytes())
        at = len(data) // 2
        data[at] ^= 0x20
        victim.write_bytes(bytes(data))
        self.line("sim.dev.media_edited", at=at, file=victim.name)

    def _edit_ledger(self, step: dict) -> None:
        # A careful forger: one byte of one entry changes, and the store's record checksum is
        # recomputed so the store itself sees nothing wrong. Only the signatures can tell.
        segments = sorted(p for p in (self.store_dir / "ledger").glob("*.seg") if p.is_file())
        if not segments:
            raise ScenarioError(i18n.text("sim.error.no_ledger", n=step["n"]))
        seg = segments[-1]
        data = bytearray(seg.read_bytes())
        starts = []
        pos = 0
        while pos + 8 <= len(data):
            n = int.from_bytes(data[pos : pos + 4], "big")
            if pos + 8 + n > len(data):
                break
            starts.append((pos, n))
            pos += 8 + n
        if not starts:
            raise ScenarioError(i18n.text("sim.error.no_record", n=step["n"]))
        pos, n = starts[len(starts) // 2]
        payload = pos + 8
        data[payload + n - 20] ^= 0x01  # inside the entry's signed bytes, not its framing
        data[pos + 4 : pos + 8] = crc32(bytes(data[payload : payload + n])).to_bytes(4, "big")
        seg.write_bytes(bytes(data))
        self.line("sim.dev.ledger_edited", offset=pos, file=seg.name)

    def _lose_power(self, why: Said) -> None:
        self._discard()
        self.power_losses += 1
        self.line("sim.dev.power_lost", why=why)

    def _discard(self) -> None:
        """The running agent is gone, its files left as they are on the card."""
        for f in list(self.power.files):
            try:
                f._inner.close()  # already flushed: nothing more reaches the card
            except OSError:
                pass
        self.power.files.clear()
        self.agent = None
        self._release_store()  # the writer is gone with the power

    # -- the hardware at work --

    def _opener(self, file: str, mode: str = "r", *args: object, **kwargs: object) -> object:
        self.power.check()
        inner = self.card.opener(file, mode, *args, **kwargs)
        if not any(c in mode for c in "wax+"):
            return inner
        f = _CutFile(inner, self.power)
        self.power.files.add(f)
        return f

    def _on(self) -> Agent:
        if self.agent is None:
            raise ScenarioError(i18n.text("sim.error.off"))
        return self.agent

    def _state(self) -> Term:
        return _state_term(self._on().recorder.state)

    def _press(self, button: str) -> None:
        self._input(self.buttons.press(button))

    def _input(self, name: str, *args: object) -> None:
        self._on().input(name, *args)
        self._flush_officer()

    def _flush_officer(self) -> None:
        for said in self.officer_log:
            self._said(said)
        self.officer_log.clear()

    def _speak(self, step: dict, default_s: float) -> None:
        wav = step.get("wav")
        if wav is None:
            seconds = float(step.get("seconds", default_s))
            self.microphone.speak(seconds)
            self._run(int(seconds * 1000), self.fps)
            return
        self.microphone.speak(step.get("seconds"), wav)  # as long as the recording lasts
        while self.microphone.speaking() and self.agent is not None:
            self._run(BLOCK_MS, self.fps)

    def _run(self, ms: int, fps: int) -> int:
        """Let ``ms`` of virtual time pass: film at ``fps`` while the recorder captures, feed
        audio, tick, drain the battery (``firmware.runloop``). Return the frames captured."""
        if self.agent is None or self.loop is None:  # off: only the RTC runs
            self.clock.advance(ms)
            return 0
        frame_ms = 1000 // fps if fps > 0 else 0
        return self.loop.pass_time(ms, frame_ms, self.clock.advance, self._chores)

    def _chores(self, idle_ms: int) -> None:
        """The hardware's upkeep after each step of the run loop: the battery drains (all of
        an idle step, or a minute's worth once a minute while capturing)."""
        agent = self._on()
        if idle_ms:
            self.battery.drain(idle_ms, False)
            self._battery(agent)
        elif self.clock.mono_ms() >= self._battery_due:
            self._battery_due = self.clock.mono_ms() + BATTERY_EVERY_MS
            self.battery.drain(BATTERY_EVERY_MS, agent.recorder.state in (RECORDING, RESUMING))
            self._battery(agent)
        self._flush_officer()

    def _audio(self) -> "bytes | list | None":
        block = self.microphone.read()  # the microphone runs on, heard or not
        if block is None or not self.mic_working:
            return None
        if self.sound is not None:
            # AAC frames, each with its capture time: the run loop feeds them one by one,
            # so every frame is one sample of its fragment.
            return self.sound.encode(block[0], block[1])
        return block[0]

    def _battery(self, agent: Agent) -> None:
        pct = self.battery.percent()
        agent.input("battery", pct)
        if pct <= 0:
            self.power.dead = True
            raise PowerCut(line("sim.dev.battery_ran_out"))

    # -- docking --

    def dock_transport(self, transport: "Transport", since: "float | None" = None) -> "Transport":
        """The transport as the device sees it: while docked, its clock runs in real time,
        from ``since`` (a ``time.monotonic()`` reading; default: now)."""
        return _RealTime(transport, self.clock, since)

    def close(self) -> None:
        if self.agent is not None:
            try:
                self.agent.store.close()
            except (OSError, FirmwareError, PowerCut):
                pass
            self.agent = None
        self._release_store()

    def ledger_entries(self) -> list:
        """The device's ledger entries as its store holds them, read without writing."""
        from firmware.store import ledger_bytes
        from protocol.ledger import read_ledger

        data = ledger_bytes(str(self.store_dir))
        return [item[2].raw for item in read_ledger(data) if item[0] == "entry"]


class _RealTime:
    """A link transport that moves the device's virtual clock on by the real time that
    passes, so the link's idle timeout works while the device is docked."""

    def __init__(self, inner: "Transport", clock: SimClock, since: "float | None" = None) -> None:
        self.inner = inner
        self.clock = clock
        self.last = time.monotonic() if since is None else since

    def _catch_up(self) -> None:
        now = time.monotonic()
        self.clock.advance(int((now - self.last) * 1000))
        self.last = now

    def read(self) -> bytes:
        data = self.inner.read()
        self._catch_up()
        return data

    def write(self, data: bytes) -> None:
        self.inner.write(data)

    def at_eof(self) -> bool:
        return self.inner.at_eof()


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def _span(ms: int) -> Said:
    s = ms / 1000
    if s >= 86400:
        return line("sim.span.days", n=s / 86400)
    if s >= 3600:
        return line("sim.span.hours", n=s / 3600)
    if s >= 60:
        return line("sim.span.minutes", n=s / 60)
    return line("sim.span.seconds", n=s)


def _state_term(state: int) -> Term:
    """A recorder state: its name in English, the officer's terminal's word otherwise."""
    name = STATE_NAMES[state]
    return Term(name, "state.%s" % name)


def _nth(n: int) -> str:
    return "%d%s" % (n, {1: "st", 2: "nd", 3: "rd"}.get(n if n < 20 else n % 10, "th"))
