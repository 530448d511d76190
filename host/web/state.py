"""What the whole application shares: the store, the clock, the web sessions, the caches."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host.web.footage import Checks, Thumbnails
from host.web.recordview import Views
from host.web.session import Limiter, Sessions
from host.web.storefront import Front
from host.web.traffic import Traffic

if TYPE_CHECKING:
    from host.access import Store


@dataclass
class Web:
    """The application's state (``request.app.state.web``)."""

    store: "Store"
    now: "Callable[[], int]"
    sign: "Callable[[Store], None] | None" = None
    sessions: Sessions = field(default_factory=Sessions)
    limiter: Limiter = field(default_factory=Limiter)
    checks: Checks = field(default_factory=Checks)
    thumbnails: Thumbnails = field(default_factory=Thumbnails)
    views: Views = field(default_factory=Views)
    # The requests under way, which the background work (checks, views made ahead) lets
    # go first (``traffic``).
    traffic: Traffic = field(default_factory=Traffic)
    # Where court packages are made (``host.web.export``); None: the store's exports folder.
    exports: "str | None" = None
    # Whether ``exports`` is a private temporary folder made for the server's life (a store
    # with no folder of its own: the scale-out one), removed at its end.
    exports_private: bool = False
    # The store as the desks use it: each thread reading on its own connection, the audit
    # records of views and plays committed in groups (``storefront``).
    front: Front = field(init=False)

    def __post_init__(self) -> None:
        self.front = Front(self.store)
        self.checks.give_way = self.traffic.give_way
