"""The errors of talking to a board and of flashing one."""


class BoardError(Exception):
    """A MicroPython board (real or virtual) did not answer as expected; the message says how."""


class FlashError(Exception):
    """A step of flashing a board that cannot go on; the message says why and what to do."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
