"""The agency's settings for its evidence store: one table of named values, with defaults.

What an agency decides once and the evidence rules then follow: its time zone (how every
time is shown, ``host.localtime``), its retention periods and case types (``host.retention``,
``host.cases``), the host key the store signs its checkpoints with. A value is JSON text, so
a setting can be a number, a name or a small table. Changing one is an action like any other:
the caller records it in the audit trail (``host.audit.POLICY_CHANGE``) in the same
transaction, with the old and the new value.
"""

import json
from typing import TYPE_CHECKING

from host.localtime import DEFAULT_ZONE

if TYPE_CHECKING:
    from host.sqlstore import Cursor

SCHEMA = """
-- The agency's settings (host.settings): name -> JSON value; a missing name has its default.
CREATE TABLE IF NOT EXISTS settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"""

TIME_ZONE = "time_zone"
HOST_KEY = "host_key_file"  # the key this store's checkpoints are signed with after an action

DEFAULTS: "dict[str, object]" = {TIME_ZONE: DEFAULT_ZONE, HOST_KEY: None}


def get(cur: "Cursor", name: str) -> object:
    """The value of setting ``name``: the stored one, else its default (KeyError for a name
    no module declared: ``declare`` it first)."""
    default = DEFAULTS[name]
    try:
        row = cur.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
    except Exception:  # a store made before settings existed (opened read-only): defaults
        return default
    return default if row is None else json.loads(row[0])


def put(cur: "Cursor", name: str, value: object) -> object:
    """Store ``value`` for ``name`` inside the caller's transaction; returns the old value
    for the audit record."""
    old = get(cur, name)
    cur.execute(
        "INSERT INTO settings VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, json.dumps(value, ensure_ascii=False, sort_keys=True)),
    )
    return old


def declare(name: str, default: object) -> str:
    """Declare a setting another module owns (``retention_years`` ...), with its default."""
    DEFAULTS.setdefault(name, default)
    return name
