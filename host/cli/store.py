"""``sealcam store migrate --from DIR --to postgresql://... --media s3://BUCKET``: an
embedded evidence store moved into the scale-out form and verified (``host.migrate``)."""

import argparse
import json
import sys
from pathlib import Path

from host import i18n
from host.cli.common import EXIT_NOT_OK, EXIT_OK, UsageProblem


def add_store(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("store", help=i18n.text("cmd.store"))
    ssub = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    m = ssub.add_parser("migrate", help=i18n.text("cmd.store migrate"),
                        description=i18n.text("migrate.description"))  # fmt: skip
    m.add_argument("--from", dest="source", required=True, metavar="DIR",
                   help=i18n.text("migrate.opt_from"))  # fmt: skip
    m.add_argument("--to", dest="target", required=True, metavar="postgresql://...",
                   help=i18n.text("migrate.opt_to"))  # fmt: skip
    m.add_argument("--media", required=True, metavar="s3://BUCKET",
                   help=i18n.text("scaleout.media_help"))  # fmt: skip
    m.add_argument("--carry-damaged", action="store_true", help=i18n.text("migrate.opt_carry"))
    m.add_argument("--json", action="store_true", help=i18n.text("migrate.opt_json"))
    m.set_defaults(run=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    import getpass
    import socket

    from host import migrate
    from host.cli.scaleout import is_scaleout
    from host.evidence import SqliteEvidenceStore
    from host.pgstore import _shown
    from host.progress import Progress
    from host.s3media import MediaUnusable, bucket_of

    if not (Path(args.source) / "evidence.db").is_file():
        raise UsageProblem(i18n.text("migrate.no_source", path=args.source))
    if not is_scaleout(args.target):
        raise UsageProblem(i18n.text("migrate.not_url", url=args.target))
    try:
        bucket_of(args.media)
    except MediaUnusable as exc:
        raise UsageProblem(str(exc)) from None
    src = SqliteEvidenceStore(args.source, readonly=True)
    bar = Progress(i18n.text("migrate.progress"), 1)
    shown = _shown(args.target)

    def progress(done: int, total: int) -> None:
        bar.total = max(total, 1)
        bar.update(done)

    try:
        by = "%s@%s" % (getpass.getuser(), socket.gethostname())  # who ran it, on which host
        report = migrate.migrate(
            src, args.target, args.media, progress, carry_damaged=args.carry_damaged, by=by
        )
    finally:
        bar.close()
        src.close()
    # The copy is as good as the source when its only findings are the damage carried from
    # it (each damaged chunk named, nothing else): complete, but NOT OK, as the source is.
    carried = {d.digest.hex() for d in report.damaged if not d.recovered}
    unexplained = [
        f for f in report.verified.to_dict()["findings"]
        if not (f["code"] == "media-altered" and f.get("digest") in carried)
    ]  # fmt: skip
    ok = report.verified.ok and not report.differences
    as_source = bool(carried) and not unexplained and not report.differences
    if args.json:
        print(json.dumps({
            "state": "OK" if ok else "NOT OK", "tables": report.tables, "media": report.media,
            "reused": report.reused, "media_bytes": report.media_bytes,
            "removed": report.removed, "left": report.left,
            "differences": report.differences, "verify": report.verified.to_dict(),
            "damaged": [{"digest": d.digest.hex(), "sha256": d.sha256.hex(), "size": d.size,
                         "object": d.key, "version": d.version, "recovered": d.recovered}
                        for d in report.damaged],
            "as_source": ok or as_source,
        }, indent=2, default=str))  # fmt: skip
        return EXIT_OK if ok else EXIT_NOT_OK
    print(i18n.text("migrate.copied", rows=sum(report.tables.values()),
                    tables=len(report.tables), media=report.media, reused=report.reused,
                    mb="%.1f" % (report.media_bytes / 1e6), url=shown,
                    bucket=args.media))  # fmt: skip
    if report.left:
        print(i18n.text("migrate.left", tables=", ".join(report.left)))
    for line in report.verified.lines(shown, args.media):
        print(line)
    for line in report.differences:
        print(line)
    for d in report.damaged:
        if d.earlier:  # kept by an earlier run; the file is whole now, its media too
            print(i18n.text("migrate.kept_earlier", digest=d.digest.hex(), size=d.size,
                            own=d.sha256.hex(), key=d.key))  # fmt: skip
        elif d.recovered:  # the chunk's media is whole in the copy; the bytes kept aside
            print(i18n.text("migrate.recovered", digest=d.digest.hex(), size=d.size,
                            own=d.sha256.hex(), key=d.key))  # fmt: skip
        else:
            print(i18n.text("migrate.damaged", digest=d.digest.hex(), size=d.size,
                            own=d.sha256.hex(), key=d.key))  # fmt: skip
    if as_source:
        print(i18n.text("migrate.carried", source=args.source, url=shown, count=len(carried)),
              file=sys.stderr)  # fmt: skip
    elif ok:
        print(i18n.text("migrate.ok", source=args.source, url=shown))
    else:
        print(i18n.text("migrate.not_ok", source=args.source, url=shown), file=sys.stderr)
    return EXIT_OK if ok else EXIT_NOT_OK
