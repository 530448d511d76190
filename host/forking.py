"""Starting a worker by fork, without handing it the parent's garbage.

The export, the verifier, the signature checks and the court package fork helpers that
share the parent's memory. A forked child runs the garbage collector over everything it
inherited, and a finaliser run there can wait for ever: a PyAV codec freed in the child
joins its encoder's threads, which the fork did not copy, and the child hangs on their
condition variable (seen: a shift recorded with PyAV, then exported, in one process).
``start`` moves every object the parent holds into the collector's permanent generation
for the moment of the fork, so the child never collects them; the parent gets them back
at once.
"""

import gc
from typing import Protocol


class Startable(Protocol):
    def start(self) -> None: ...


def start(process: Startable) -> None:
    """``process.start()`` with the parent's objects out of the child's collector."""
    gc.freeze()
    try:
        process.start()
    finally:
        gc.unfreeze()
