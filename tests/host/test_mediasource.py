"""A store's media read by digest (``host.mediasource``), as the review page reads a
recording: any byte range of its parts laid end to end is exactly those bytes, whichever
parts it crosses; a part the store lacks is MediaMissing (a FileNotFoundError), one shorter
than its entry says is an OSError. The same property runs on the object store's reader in
``tests/scaleout/test_serve_export.py``."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.mediasource import FileMedia, MediaMissing, read_all
from host.web.footage import Footage, Part


def _parts(tmp_path, sizes: list) -> "tuple[FileMedia, list, bytes]":
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    parts, whole = [], b""
    for n, size in enumerate(sizes):
        data = bytes((n * 7 + i) % 251 for i in range(size))
        digest = hashlib.sha256(data + bytes([n])).digest()  # distinct even when equal
        (folder / digest.hex()).write_bytes(data)
        parts.append(Part(n, n, digest, size, 0, 0, True))
        whole += data
    return FileMedia(lambda d: folder / bytes(d).hex()), parts, whole


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=8), st.data())
def test_any_range_of_the_parts_is_those_bytes(tmp_path_factory, sizes, data):
    # Issue 16 (range requests), issue 18 (the same through the media seam of either store).
    source, parts, whole = _parts(tmp_path_factory.mktemp("p"), sizes)
    first = data.draw(st.integers(0, len(whole) - 1))
    last = data.draw(st.integers(first, len(whole) - 1))
    got = b"".join(Footage(parts).read(source, first, last))
    assert got == whole[first : last + 1]


def test_a_missing_or_short_part_is_said(tmp_path):
    source, parts, whole = _parts(tmp_path, [100, 200])
    assert read_all(source, parts[1].digest) == whole[100:]
    with pytest.raises(MediaMissing):
        read_all(source, b"\x00" * 32)
    with pytest.raises(FileNotFoundError):  # what the page's checks take as "missing"
        list(source.read_range(b"\x01" * 32, 0, 10))
    short = Footage([parts[0], Part(1, 1, parts[1].digest, 300, 0, 0, True)])
    with pytest.raises(OSError, match="shorter"):
        b"".join(short.read(source, 0, 399))
