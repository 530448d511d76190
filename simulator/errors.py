"""The simulator package's exceptions: one root, a subclass per kind of failure.

A board that does not answer raises ``BoardError``, which lives with the raw REPL client
under ``host.board`` (``sealcam flash`` uses them too) and is named here for the simulator's
modules; it is not a ``SimulatorError``, so a command catches both.
"""

from host.board.errors import BoardError

__all__ = ["BoardError", "ScenarioError", "SimulatorError"]


class SimulatorError(Exception):
    """Root of every error raised by the simulator package."""


class ScenarioError(SimulatorError):
    """A scenario file that cannot be run as written; the message names the file and the step."""
