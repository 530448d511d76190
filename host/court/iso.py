"""The court package as an ISO 9660 disc image, with Joliet names, ready to burn (pycdlib).

The rules ask for the footage "copied to an optical disc and attached to the case file"
(R-HOST-4). The image holds the package folder's files at its root, each under its own name
in the Joliet tree (what Windows, macOS and Linux show, and what the verifier page finds by
the manifest's paths) and under an ISO 9660 level 3 name (upper case, ``_`` for any other
character) for readers without Joliet. ``IsoFiles`` reads an image back by the manifest's
paths, for ``sealcam verify FILE.iso``.

The image is written under a temporary name beside ``FILE.iso`` and renamed when whole.
"""

import os
import re
from pathlib import Path
from typing import BinaryIO

VOLUME_MAX = 32  # a volume identifier is at most 32 d-characters
_NOT_D = re.compile(r"[^A-Z0-9_]")


def _iso_name(name: str, is_file: bool) -> str:
    """An ISO 9660 level 3 name for one path component (files get their version ``;1``)."""
    if not is_file:
        return _NOT_D.sub("_", name.upper())[:31] or "_"
    stem, dot, ext = name.upper().rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = _NOT_D.sub("_", stem)[:26] or "_"
    ext = _NOT_D.sub("_", ext)[:3]
    return "%s.%s;1" % (stem, ext)


def volume_id(text: str) -> str:
    return _NOT_D.sub("_", text.upper())[:VOLUME_MAX] or "SEALCAM"


def write_iso(folder: Path, iso_path: Path, volume: str) -> int:
    """Write ``folder`` as an ISO 9660 + Joliet image at ``iso_path``; return its size."""
    import pycdlib

    image = pycdlib.PyCdlib()
    image.new(
        interchange_level=3,
        joliet=3,
        vol_ident=volume_id(volume),
        app_ident_str="sealcam court package",
    )
    tmp = iso_path.with_name(".%s.partial-%d" % (iso_path.name, os.getpid()))
    try:
        for top, dirs, files in os.walk(folder):
            dirs.sort()
            rel_top = Path(top).relative_to(folder)
            for name in sorted(dirs):
                rel = rel_top / name
                image.add_directory(iso_path=_iso_path(rel, False), joliet_path=_joliet(rel))
            for name in sorted(files):
                rel = rel_top / name
                image.add_file(
                    str(Path(top) / name), iso_path=_iso_path(rel, True), joliet_path=_joliet(rel)
                )
        image.write(str(tmp))
        image.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, iso_path)
    finally:
        tmp.unlink(missing_ok=True)
    return iso_path.stat().st_size


def _iso_path(rel: Path, is_file: bool) -> str:
    parts = rel.parts
    names = [_iso_name(p, False) for p in parts[:-1]] + [_iso_name(parts[-1], is_file)]
    return "/" + "/".join(names)


def _joliet(rel: Path) -> str:
    return "/" + "/".join(rel.parts)


class IsoFiles:
    """A package inside an ISO image, opened by the manifest's paths (Joliet names)."""

    def __init__(self, path: Path) -> None:
        import pycdlib

        self._image = pycdlib.PyCdlib()
        try:
            self._image.open(str(path))
        except pycdlib.pycdlibexception.PyCdlibException as exc:
            raise ValueError("%s is not an ISO 9660 image: %s" % (path, exc)) from None
        if not self._image.has_joliet():
            self._image.close()
            raise ValueError("%s has no Joliet names: not a sealcam package image" % path)

    def open(self, rel: str) -> "BinaryIO | None":
        import pycdlib

        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError("a path in the manifest leaves the package: %r" % rel)
        try:
            record = self._image.get_record(joliet_path="/" + rel)
        except pycdlib.pycdlibexception.PyCdlibException:
            return None
        if record.is_dir():
            return None
        # A stream over the image (not the file's bytes in memory): an hour of footage
        # is read as it is hashed. Entering it is what opens it.
        stream = self._image.open_file_from_iso(joliet_path="/" + rel)
        return stream.__enter__()

    def names(self) -> "list[str]":
        found = []
        for top, _dirs, files in self._image.walk(joliet_path="/"):
            for name in files:
                found.append((top.rstrip("/") + "/" + name).lstrip("/"))
        return sorted(found)

    def close(self) -> None:
        self._image.close()
