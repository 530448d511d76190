"""``sealcam record``: the recorder agent on this machine (the Linux terminal port)."""

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from host import i18n
from host.cli.common import (
    EXIT_NOT_OK,
    EXIT_OK,
    UsageProblem,
    check_id,
    claim_store,
    load_key,
    number_at_least,
    read_regular,
)
from host.files import write_atomic
from host.problems import said
from protocol.keys import DeviceKey, encode_key
from protocol.signer import generate_seed, make_signer
from protocol.verify import verify_ledger

if TYPE_CHECKING:
    from firmware.hal import Clock
    from firmware.ports.keysource import KeySource
    from firmware.storelock import StoreClaim


def cmd_record(args: argparse.Namespace) -> int:
    """Everything that can refuse the run is checked before anything is written: a run
    refused (a bad camera, a bad --seal-to, a bad key script) leaves no store and no key."""
    from firmware.errors import FirmwareError
    from firmware.ports.cpython import SystemClock, open_media, open_reason

    store = Path(args.store)
    agency = read_regular(args.seal_to, "agency public key") if args.seal_to else b""
    if agency and len(agency) != 32:
        raise UsageProblem(i18n.text("record.bad_agency", path=args.seal_to))
    key_path = Path(args.key) if args.key else store / "device.key"
    key = None
    if key_path.exists():
        key = load_key(str(key_path))
        if args.device_id and args.device_id != key.device_id:
            raise UsageProblem(
                i18n.text(
                    "record.wrong_device", path=key_path, device=key.device_id, given=args.device_id
                )
            )
        if not key.seed:
            raise UsageProblem(i18n.text("record.public_key", path=key_path))
    elif args.device_id:
        check_id(args.device_id, i18n.N_("usage.what_device_id"))
    else:
        raise UsageProblem(i18n.text("record.no_key", path=key_path))
    clock = SystemClock()
    keys = officer_keys(args, clock)
    codec = args.codec or ("" if args.input else "h264")  # a vendor stream names its own
    stop = threading.Event()  # the recording's: a vendor's stream stops reading on it
    try:
        opened = open_media(
            args.camera or "", codec, clock, args.input or "", args.mic or "", args.fps,
            stop=stop,
        )  # fmt: skip
    except FirmwareError as exc:
        raise UsageProblem(said(exc)) from None
    try:
        # The spoken reason's file is read whole now: a bad one is refused with nothing made.
        reason = open_reason(args.reason, *opened) if args.reason else None
    except FirmwareError as exc:
        _close(opened)
        raise UsageProblem(said(exc)) from None
    try:
        try:
            store.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = exc.strerror
            raise UsageProblem(i18n.text("record.no_store", path=store, why=why)) from None
        # Provisioning the key writes the store too: the claim comes first (R-DEV-2).
        held = claim_store(str(store), "sealcam record")
    except BaseException:
        _close(opened)
        raise
    try:
        if key is None:
            seed = generate_seed()
            key = DeviceKey(args.device_id, make_signer(seed).public_key(), seed)
            write_atomic(key_path, encode_key(key), mode=0o600)
            write_atomic(key_path.with_suffix(".pub"), encode_key(key.public_only()))
        return _record_claimed(args, store, held, key, agency, clock, keys, (opened, stop, reason))
    finally:
        held.release()


def _close(opened: tuple) -> None:
    """Close what ``open_media`` opened, when the run is refused before it records."""
    opened[0].close()
    if opened[1] is not None:
        opened[1].close()


def officer_keys(args: argparse.Namespace, clock: "Clock") -> "KeySource | None":
    """Where the officer's keys come from: --keys (a script; - is standard input), else the
    terminal on standard input when there is one; None runs unattended."""
    from firmware.errors import FirmwareError
    from firmware.ports.keysource import ScriptKeys, TtyKeys

    if args.keys == "-" and args.input == "-":
        raise UsageProblem(i18n.text("record.keys_and_input"))
    try:
        if args.keys:
            return ScriptKeys.from_file(args.keys, clock)
        if args.input != "-" and not args.json and sys.stdin.isatty():
            return TtyKeys(sys.stdin.fileno())
    except FirmwareError as exc:
        raise UsageProblem(said(exc)) from None
    return None


def _record_claimed(
    args: argparse.Namespace,
    store: Path,
    held: "StoreClaim",
    key: DeviceKey,
    agency: bytes,
    clock: "Clock",
    keys: "KeySource | None",
    source: tuple,
) -> int:
    from firmware.errors import FirmwareError
    from firmware.hal import Indicators
    from firmware.ports.cpython import Terminal, record
    from firmware.store import ledger_bytes

    indicators: Indicators = Indicators()  # --json: the output is for a machine
    if not args.json:
        indicators = Terminal(
            lambda msg_id, fields: i18n.text(msg_id, **fields),
            live=sys.stdout.isatty(),
        )
    codec = args.codec or ("" if args.input else "h264")  # a vendor stream names its own
    try:
        summary = record(
            str(store),
            args.camera or "",
            key.seed,
            key.device_id,
            args.officer,
            args.seconds,
            agency,
            indicators,
            store_claim=held,
            codec=codec,
            mic=args.mic or "",
            input_spec=args.input or "",
            fps=args.fps,
            clock=clock,
            keys=keys,
            opened=source[0],
            stop=source[1],
            reason=source[2],
            mic_wait_ms=round(args.mic_wait * 1000),
        )
    except FirmwareError as exc:
        raise UsageProblem(said(exc)) from None
    ledger = ledger_bytes(str(store))  # read only: the agent has closed the store
    report = verify_ledger(ledger, key.device_id, key.public)
    summary.update(store=str(store), device_id=key.device_id, ledger_state=report.state)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        sound = _sound_said(summary, bool(args.mic))
        print(
            i18n.text(
                "record.summary",
                frames=summary["frames"],
                codec=summary["codec"],
                sound=sound,
                store=summary["store"],
                entries=summary["entries"],
                media_bytes=summary["media_bytes"],
                state=i18n.verdict(report.state),
            )
        )
    left_out = summary.get("audio_ignored")
    if left_out:
        # A sound track of the vendor's MP4 that was not recorded: which, and why (the
        # recording itself is whole, so the exit code stays as the rest makes it).
        from firmware.ports.vendor import NO_AUDIO_CONFIG

        why = (
            i18n.N_("record.audio_without_config")
            if summary.get("audio_ignored_why") == NO_AUDIO_CONFIG
            else i18n.N_("record.audio_not_aac")
        )
        print(i18n.text(why, codec=left_out), file=sys.stderr)
    failed = summary.get("source_failed")
    if failed:
        # Everything captured before the failure is signed; the stop event closes it.
        print(i18n.text("record.source_failed", problem=_failures(summary)), file=sys.stderr)
        return EXIT_NOT_OK
    if summary.get("parameter_sets_changed"):
        # Stopped at the change, signed up to there (docs/vendor-encoder.md).
        changed = (
            i18n.N_("record.new_moov_changed")  # the encoder's MP4 began again, otherwise
            if summary.get("new_moov_changed")
            else i18n.N_("record.parameter_sets_changed")
        )
        print(i18n.text(changed, frames=summary["frames"]), file=sys.stderr)
        return EXIT_NOT_OK
    early = summary.get("input_ended_early")
    if early:
        # The recording was stopped and signed; the stream itself was cut (docs/vendor-encoder.md).
        print(
            i18n.text("record.input_ended_early", how=early, frames=summary["frames"]),
            file=sys.stderr,
        )
        return EXIT_NOT_OK
    return EXIT_OK if report.ok else EXIT_NOT_OK


def _failures(summary: dict) -> str:
    """What made the recording's sources give up, in the language in force: each as the
    message the port names it by, or its English words where it names none."""
    from host.problems import message

    out = []
    for given in summary.get("source_failed_said") or [summary["source_failed"]]:
        if isinstance(given, tuple) and i18n.known(given[0]):
            out.append(message(*given))
        else:
            out.append(str(given))
    return i18n.text("record.failures_joined").join(out)


def _sound_said(summary: dict, mic: bool) -> str:
    """What the summary says of the sound: the microphone's frames, or, when the only sound
    is the spoken reasons played from --reason, that (not "no sound", which is untrue)."""
    heard = summary["audio_frames"]
    said = summary.get("reason_frames", 0)
    if heard or mic:
        return i18n.text("record.sound", count=heard + said)
    if said:
        return i18n.text("record.reason_sound_only", count=said)
    return i18n.text("record.no_sound")


def frame_rate(text: str) -> int:
    """An argparse type: a whole number of frames per second, 1..240."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 240:
        raise argparse.ArgumentTypeError(i18n.text("usage.fps", text=text))
    return value


def add_record(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam record``."""
    r = sub.add_parser(
        "record",
        help="run the recorder agent on this machine (Linux terminal port)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Run the device agent on this machine. The pictures come from a camera (an index such as 0)
or a video file, played at its own frame rate; every frame gets the overlay of time, device
and officer burned in and is encoded as H.264 (the default) or H.265, with the microphone's
sound as AAC. Each chunk is one fragment of a fragmented MP4 (one GOP of pictures and the
sound heard meanwhile), hashed frame by frame at capture and signed into the store's ledger;
the recording's init segment is signed first. The media is written beside the ledger,
crash-safe: the next run recovers a store cut by a power loss and logs what was cut.

On a terminal the officer works the recorder with keys, listed at the start (h lists them
again): the camera runs in pre-record until r, and the first seconds before r go into the
recording; a confirms the announcement was said, n the narration; p pauses with an objective
reason chosen from a list; c resumes and the reason is then stated to the microphone (d when
done) or played from --reason FILE.wav; m marks a moment important; w makes the work record
of a duty that cannot be recorded, with its reason and a note; s stops; q stops and quits. A
status line shows the state, the time, the battery, the hours of storage left and the
chunks, in Chinese or English (--lang, or the locale). --keys FILE plays the keys from a
script (for tests and QA). Without a terminal or --keys the recording starts at once, and no
announcement is logged: nobody confirmed one.

--codec mjpeg keeps the raw mode: every frame a JPEG of its own, no sound.

--input takes a vendor's hardware encoder instead of the camera and the encoder: an H.264
or H.265 elementary stream (Annex B) or a fragmented MP4, from standard input (-), a named
pipe, a device or a file. It is signed as it is, never re-encoded (so the vendor's
pipeline burns the overlay in). Annex B carries no time: its pictures are stamped at
--fps on this machine's clock, and it must not use B-frames; an MP4 may. The recording
ends when the stream ends; a stream cut inside a picture or fragment ends it too, exit 1.
See docs/vendor-encoder.md.""",
        epilog="""\
examples:
  sealcam record --camera street.mp4 --mic street.wav --store rec/ --device-id SC-0001 \\
                 --officer P-0427
  sealcam record --camera 0 --codec h265 --mic default --store rec/ --officer P-0427
  vendor-encoder | sealcam record --input - --fps 25 --store rec/ --officer P-0427

exit codes: 0 recorded and the ledger verifies; 1 the ledger does not verify, or the input
ended inside a picture, or a source failed mid-recording (what came before is signed);
2 nothing could be recorded (a source that cannot be opened or is
not H.264/H.265/MP4, a missing microphone or --reason file, a store in use).""",
    )
    source = r.add_mutually_exclusive_group(required=True)
    source.add_argument("--camera", help="camera index (0) or video file")
    source.add_argument(
        "--input",
        metavar="-|PATH",
        help="a vendor encoder's H.264/H.265 Annex B or MP4 stream: - for standard input, or "
        "a named pipe, device or file",
    )
    r.add_argument(
        "--codec",
        choices=("h264", "h265", "mjpeg"),
        help="what to encode the camera as (default h264); with --input, what the stream is "
        "(default: detected from its first parameter sets)",
    )
    r.add_argument(
        "--mic",
        metavar="DEVICE|FILE.wav",
        help="record sound: a 16-bit PCM WAV file (played at its own pace) or an ALSA sound "
        "device such as default or hw:0",
    )
    r.add_argument(
        "--mic-wait",
        type=number_at_least(0, above=True),
        default=5,
        metavar="SECONDS",
        help="once the pictures have ended, give up on a microphone that gives no sound for "
        "this long (default 5): the recording stops without the rest of its sound",
    )
    r.add_argument(
        "--reason",
        metavar="FILE.wav",
        help="the spoken reason for a pause from a 16-bit PCM WAV file: said at every resume "
        "in place of the microphone, and the reason is done when it ends",
    )
    r.add_argument(
        "--fps",
        type=frame_rate,
        default=30,
        help="frames per second of an Annex B --input, which carries no time (default 30)",
    )
    r.add_argument("--store", required=True, help="the device's store directory")
    r.add_argument("--device-id", help="provision a key for this device on first use")
    r.add_argument("--key", help="the device's private key file (default STORE/device.key)")
    r.add_argument("--officer", default="", help="the officer's id, shown in the overlay")
    r.add_argument("--seconds", type=number_at_least(0), default=0, help="stop after this long")
    r.add_argument("--seal-to", help="encrypt media to this agency X25519 public key file")
    r.add_argument(
        "--keys",
        metavar="FILE|-",
        help="the officer's keys from a script instead of the terminal (for tests and QA): "
        "lines of keys, 'wait SECONDS' and 'type NOTE'; - reads it from standard input",
    )
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.set_defaults(run=cmd_record)
