"""How every report names a recording: by its number, the seq of the entry that started it,
which ``sealcam export --recording`` takes, so that ``verify``, ``export``, the compliance
flags and the timeline all say the same thing."""


def recording_number(rec_id: bytes) -> int:
    """A recording id as the integer it encodes (the seq of its record-start entry)."""
    return int.from_bytes(rec_id, "big")


def recording_label(rec_id: object) -> str:
    """``recording 42``; a recording whose entries carry no id is named so, never ``None``."""
    if isinstance(rec_id, bytes) and rec_id:
        return "recording %d" % recording_number(rec_id)
    return "a recording without an id"
