"""``sealcam verify PACKAGE_DIR|FILE.iso``: a court package checked, as the page checks it.

The checks are those of the script every package carries (``host.court.verify_package``,
which imports nothing of sealcam and so is run here as it is): the same findings, with the
same codes, for a folder or an ISO image read in place. What this module adds is the
report in the language in force (``host.i18n``, area ``court``).
"""

from pathlib import Path

from host import i18n
from host.court import verify_package as vp
from host.errors import Unusable

# The message of each finding code, rendered with ``item`` and ``detail``.
FINDING_TEXT = {
    "unreadable": i18n.N_("court.f_unreadable"),
    "manifest": i18n.N_("court.f_manifest"),
    "manifest-signature": i18n.N_("court.f_manifest_signature"),
    "manifest-json": i18n.N_("court.f_manifest_json"),
    "file-missing": i18n.N_("court.f_file_missing"),
    "file-changed": i18n.N_("court.f_file_changed"),
    "checkpoint": i18n.N_("court.f_checkpoint"),
    "device-key": i18n.N_("court.f_device_key"),
    "enrolment": i18n.N_("court.f_enrolment"),
    "ledger": i18n.N_("court.f_ledger"),
    "broken-chain": i18n.N_("court.f_broken_chain"),
    "bad-signature": i18n.N_("court.f_bad_signature"),
    "unsigned-tail": i18n.N_("court.f_unsigned_tail"),
    "chunk-list": i18n.N_("court.f_chunk_list"),
    "chunk-missing": i18n.N_("court.f_chunk_missing"),
    "chunk-changed": i18n.N_("court.f_chunk_changed"),
    "inclusion": i18n.N_("court.f_inclusion"),
    "custody": i18n.N_("court.f_custody"),
    "approval": i18n.N_("court.f_approval"),
    "extra-file": i18n.N_("court.f_extra_file"),
    "left-out": i18n.N_("court.f_left_out"),
    "no-stop": i18n.N_("court.f_no_stop"),
}
SPOKEN = {True: i18n.N_("court.spoken_yes"), False: i18n.N_("court.spoken_no")}
STATE_TEXT = {
    "OK": i18n.N_("court.state_ok"),
    "OK with missing information": i18n.N_("court.state_missing"),
    "NOT OK": i18n.N_("court.state_not_ok"),
}


def is_package(path: Path) -> bool:
    """Whether ``sealcam verify PATH`` means a court package: a folder with a manifest, or
    an ISO image."""
    if path.is_dir():
        return (path / vp.MANIFEST).is_file()
    return path.suffix.lower() == ".iso"


def check_path(path: Path) -> vp.Report:
    """Check the package at ``path`` (folder or ISO image); Unusable when it is none."""
    if path.is_dir():
        return _checked(vp.Folder(str(path)))
    if not path.is_file():
        raise Unusable(i18n.text("court.no_such", path=path))
    from host.court.iso import IsoFiles

    try:
        image = IsoFiles(path)
    except ValueError as exc:
        raise Unusable(i18n.text("court.not_iso", path=path, problem=exc)) from None
    try:
        return _checked(image)
    finally:
        image.close()


def _checked(files: object) -> vp.Report:
    try:
        return vp.check(files)
    except vp.Unusable as exc:
        raise Unusable(i18n.text("court.not_package", problem=_said(exc))) from None


def _said(what: object) -> str:
    """A finding's detail, or why a package cannot be checked, in the language in force:
    the script says each in Chinese and in English (``verify_package.Said``)."""
    if isinstance(what, vp.Finding):
        return what.detail_zh if i18n.current() == i18n.ZH else what.detail
    assert isinstance(what, BaseException)
    return vp.zh_of(what) if i18n.current() == i18n.ZH else str(what)


def _reason(code: object) -> str:
    """A pause's objective reason (R-DEV-9) as the regulations name it, and in English."""
    from host.mp4export import PAUSE_NAMES_EN, PAUSE_NAMES_ZH

    if not isinstance(code, int) or code not in PAUSE_NAMES_EN:
        return "未说明原因 / no reason given"
    return "%s / %s" % (PAUSE_NAMES_ZH[code], PAUSE_NAMES_EN[code])


def render(report: vp.Report, path: str) -> str:
    lines = [i18n.text("court.checking", path=path)]
    for f in report.findings:
        mark = i18n.text("court.mark_fail") if f.failed else i18n.text("court.mark_note")
        said = i18n.text(FINDING_TEXT[f.code], item=f.item, detail=_said(f))
        lines.append("  %s %s" % (mark, said))
    for r in report.recordings:
        lines.append(
            i18n.text(
                "court.recording_line",
                item=r["item"],
                state=i18n.text(STATE_TEXT.get(r.get("state", ""), "court.state_not_ok")),
                included=r["included"],
                chunks=r["chunks"],
                pauses=len(r["pauses"]),
            )
        )
        for p in r["pauses"]:
            lines.append(
                i18n.text(
                    "court.pause_line",
                    seq=p["pause_seq"],
                    reason=_reason(p.get("reason")),
                    spoken=i18n.text(SPOKEN[bool(p.get("spoken"))]),
                )
            )
    lines.append(i18n.text("court.host_key", fingerprint=report.host_fingerprint or "-"))
    verdict = i18n.text("court.verdict_ok") if report.ok else i18n.text("court.verdict_not_ok")
    lines.append(i18n.text("court.verdict", verdict=verdict, files=report.files))
    return "\n".join(lines)
