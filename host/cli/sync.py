"""``sealcam sync``: the host's sync daemon over TCP and serial."""

import argparse
import sys
import time
from typing import TYPE_CHECKING

from host import i18n
from host.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_NOT_OK,
    EXIT_OK,
    UsageProblem,
    host_signer,
    number_at_least,
    parse_address,
)
from host.files import os_why

if TYPE_CHECKING:
    from host.daemon import Daemon

# What sync says when Ctrl-C stops it: what the sessions stored, and what they left.
STOPPED_TEXT = (
    "sealcam sync: stopped by Ctrl-C: %d session(s), %d done, %d cut short; stored %d "
    "entries and %d media files (%s); %s"
)
LEFT_TEXT = "left on the devices: %s%s; dock them again for the rest"
NOTHING_LEFT = "nothing was left half-pulled"


def cmd_sync(args: argparse.Namespace) -> int:
    from host.cli.scaleout import is_scaleout, open_store
    from host.daemon import Daemon
    from host.progress import SessionView

    if args.clock_at is not None and args.clock_start is None:
        raise UsageProblem(i18n.text("sync.clock_at"))
    signer, kid = host_signer(args.host_key)
    store = open_store(args.evidence, args.media)
    clock = time.time
    if args.clock_start is not None:
        # The simulator docks devices that live in virtual time: the host's clock starts at
        # the scenario's moment and runs at real speed from there.
        # Read at --clock-at when the caller gives it: the caller's clock and this one then
        # agree however long the daemon took to start.
        at = args.clock_at / 1000 if args.clock_at is not None else time.time()
        offset = args.clock_start / 1000 - at

        def clock() -> float:
            return time.time() + offset

    view = SessionView() if SessionView.wanted(sys.stderr, args.json) else None
    daemon = Daemon(store, signer, kid, as_json=args.json, idle_s=args.idle, clock=clock, view=view)
    if not (args.tcp or args.serial or args.scan):
        raise UsageProblem(i18n.text("sync.nothing"))
    if is_scaleout(args.evidence) and not (args.once or args.no_lock_upkeep):
        _lock_upkeep(daemon, args, kid)
    try:
        if args.tcp:
            host, port = parse_address(args.tcp)
            try:
                daemon.listen(host, port, once=args.once)
            except OSError as exc:
                why = os_why(exc)
                raise UsageProblem(
                    i18n.text("sync.cannot_listen", address=args.tcp, why=why)
                ) from None
        for name in args.serial or ():
            daemon.serial_port(name, args.baud, once=args.once)
        if args.scan:
            daemon.scan_serial(args.scan, args.baud)
        daemon.wait()
    except KeyboardInterrupt:  # before the daemon's wait took Ctrl-C over: the same ending
        daemon.interrupted = True
        daemon.halt()
        daemon.finish()
    store.close()
    if args.once and not daemon.sessions and not args.tcp and daemon.port_errors:
        # Nothing was served, and nothing could be: every port given failed to open.
        name, why = daemon.port_errors[0]
        raise UsageProblem(i18n.text("sync.serial", name=name, why=why))
    if daemon.interrupted:
        print(stopped_summary(daemon.totals), file=sys.stderr)
        return EXIT_INTERRUPTED
    failed = [s for s in daemon.sessions if s["result"] != "done"]
    return EXIT_NOT_OK if args.once and failed else EXIT_OK


def _lock_upkeep(daemon: "Daemon", args: argparse.Namespace, kid: str) -> None:
    """A daemon serving a scale-out store keeps its object locks up (``sealcam retention
    keep-up``'s work) at its start and once a day, beside the sessions; one host at a
    time does it, so many daemons on one store do it once."""
    from host import medialocks
    from host.pgstore import PgEvidenceStore

    def run() -> "dict | None":
        return medialocks.daemon_upkeep(
            lambda: PgEvidenceStore(args.evidence, args.media),
            "sync:" + kid,
            int(daemon.clock() * 1000),
        )

    daemon.upkeep(run)


def stopped_summary(totals: dict) -> str:
    """One line for a person: the daemon's summary after Ctrl-C (``Daemon.totals``)."""
    from host.progress import human_bytes

    cut = totals["failed"] + totals["still_running"]
    if totals["bytes_left"] or totals["left_unknown"]:
        unknown = totals["left_unknown"]
        left = LEFT_TEXT % (
            human_bytes(totals["bytes_left"]),
            " and what %d session(s) had not yet counted" % unknown if unknown else "",
        )
    else:
        left = NOTHING_LEFT
    return STOPPED_TEXT % (
        totals["sessions"] + totals["still_running"],
        totals["done"],
        cut,
        totals["entries_stored"],
        totals["media_stored"],
        human_bytes(totals["bytes_stored"]),
        left,
    )


def add_sync(sub: "argparse._SubParsersAction") -> None:
    """Add ``sealcam sync``."""
    from host.cli.scaleout import add_media_option

    sy = sub.add_parser(
        "sync",
        help="collect footage from devices over TCP and serial",
        description="The sync daemon. For every device that connects it checks the device's "
        "enrolled key and proves the agency's own, sets the device clock (recording the "
        "drift), pulls new ledger entries and media, verifies every signature, chain link and "
        "media hash, stores them durably, and only then sends a signed receipt, after which "
        "the device may (after six months) free that media.",
        epilog="""\
output:
  On a terminal (stderr is one, and no --json) a live view on stderr shows one line per
  session: device, link, state (handshake, pulling, storing, receipt, done, failed), bytes
  done of the total, rate and time left, then a summary line. A session that ends stays
  there with its outcome for 10 s, then as a line above the view, where news such as
  "listening" goes too. Log lines still go to stdout when it is not that terminal.

  Ctrl-C stops the daemon: each session ends at once, keeping what it verified, and a
  summary on stderr says what was stored and what was left; the exit status is 130.

  Otherwise stdout gets one line per event, "TIME EVENT key=value ..." (a value not known
  is "-"), or with --json one
  JSON object per line with "event", "time" (UTC) and these fields:
    listening      tcp: the address listened on
    port-found     port, description: a serial port matching --scan appeared
    port-error     port, reason: a serial port could not be opened
    state          link, device, state; reason when the state is failed
    authenticated  link, device, head_seq: the device proved its enrolled key
    clock          link, device, drift_ms: device clock minus host clock, before it is set
    progress       link, device, state, entries, media, bytes, total, rate_Bps, eta_s (at
                   most every 2 s; bytes are entries and media stored; total and eta_s
                   are null until the ledger is in and the media it needs known)
    refused        link, device, reason (and seq, for an entry out of bounds): verification
                   failed; nothing after it was stored
    bad-signature  link, device, seq: an entry's signature does not verify
    bad-media      link, device, reason: media does not match its signed hash
    media-gone     link, device, digest, reason, text: the device cannot give this media
                   (reason "not-found" or "damaged"; text is the device's own). Kept in
                   the evidence store for good; the receipt no longer waits for it, and
                   every later dock asks for it again
    frame-error    link, device, problem: a damaged frame was dropped (serial noise); a
                   burst is one line, then one with count and seconds at most every 3 s.
                   A link closes after 8 in a row on TCP (64 on serial) or an
                   impossible frame length
    turned-away    address, reason: a TCP connection closed at once, as 128 others (64
                   from its address) wait for authentication; a burst is summarised as
                   frame-error is
    declined       link, device, of, code, reason: the device refused the host's TIME or
                   CONFIG by its own rules (no clock change while it records); the
                   footage is collected all the same
    internal-error link, device, reason: this host's side of the session failed (a bug);
                   the session ends with ERR_INTERNAL, as the device is told
    store-error    link, device, reason: media of a broken-off session could not be kept,
                   or a session could not be recorded (the evidence store has no room)
    closed         link, device, code, reason: how the session's protocol ended
    session        link, device, result ("done" or why not; "disk-full: ..." when the
                   evidence store ran out of room: nothing half-stored, no receipt, dock
                   again once there is room), entries_stored,
                   media_stored, media_gone, bytes_stored, bytes_in, clock_drift_ms,
                   clock_set (whether the device took the host's time; null: not sent),
                   device_head (the next seq the device announced; a session that
                   stored less ends "ended short: ..."), bytes_left (what a session not
                   done had yet to pull; null when not known), seconds, rate_Bps: one per
                   session, when it ends
    lock-keep-up   margin_days, full, objects, extended, held, released, failed, short,
                   corrected: the scale-out store's object locks kept up (sealcam
                   retention keep-up's work), at the start and once a day, by one
                   daemon of those serving the store; in a thread of its own
    upkeep-failed  reason: that upkeep could not run (tried again the next day)
    anonymous      link, result: a TCP link closed before its peer named a device (no
                   session is kept, and none of its lines is written); a burst is
                   summarised as frame-error is
    summary        sessions, done, failed, entries_stored, media_stored, bytes_stored,
                   anonymous, seconds, interrupted (stopped by Ctrl-C), still_running
                   (sessions that did not end in time), bytes_left and left_unknown
                   (what the sessions cut short by Ctrl-C had yet to pull, and how many
                   had not yet counted it): the last line, when the daemon stops

example:
  sealcam sync --evidence /srv/evidence --host-key agency-host-1.key \\
      --tcp 127.0.0.1:7878 --scan ttyACM
""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sy.add_argument(
        "--evidence",
        required=True,
        help="the evidence store directory, or postgresql://... with --media",
    )
    add_media_option(sy)
    sy.add_argument("--host-key", required=True, help="this host's private key file")
    sy.add_argument("--tcp", help="listen on HOST:PORT (loopback unless you say otherwise)")
    sy.add_argument("--serial", action="append", help="serve this serial port (repeatable)")
    sy.add_argument(
        "--scan",
        metavar="PATTERN",
        help="serve every serial port whose name contains PATTERN, including ones plugged in later",
    )
    sy.add_argument("--baud", type=int, default=921600, help="serial line rate")
    sy.add_argument("--once", action="store_true", help="stop after one session per link")
    sy.add_argument(
        "--no-lock-upkeep",
        action="store_true",
        help="on a scale-out store, do not keep the object locks up at the start and daily "
        "(a timer runs sealcam retention keep-up instead); never done with --once",
    )
    sy.add_argument(
        "--idle",
        type=number_at_least(0, above=True),
        default=10,
        help="end a session after this many quiet seconds; the device's next dock resumes it",
    )
    sy.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line for each event below, and no live view",
    )
    sy.add_argument(
        "--clock-start",
        type=int,
        metavar="MS",
        help="for simulation: the host's clock reads this time (ms since the epoch) when the "
        "daemon starts, and runs at real speed; default: the system clock",
    )
    sy.add_argument(
        "--clock-at",
        type=int,
        metavar="MS",
        help="for simulation: the system time (ms since the epoch) at which the host's clock "
        "read --clock-start; default: when the daemon starts",
    )
    sy.set_defaults(run=cmd_sync)
