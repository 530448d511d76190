"""The simulator package's exceptions: one root, a subclass per kind of failure."""


class SimulatorError(Exception):
    """Root of every error raised by the simulator package."""


class ScenarioError(SimulatorError):
    """A scenario file that cannot be run as written; the message names the file and the step."""


class BoardError(SimulatorError):
    """A MicroPython board (real or virtual) did not answer as expected; the message says how."""
