"""What a host operation raises when its input cannot be used, and the exit status of each
outcome.

The statuses are the whole project's convention: 0 done and OK, 1 done and NOT OK, 2 nothing
usable was done. The command line maps errors to them; the commands that still live beside
their domain code (``sealcam flash``, the simulator's ``sealcam sim``) return them without
importing the command line, which sits above every other layer.
"""

EXIT_OK = 0  # done, and what was checked is OK
EXIT_NOT_OK = 1  # done, and the answer is no: NOT OK, a failed check, a refused session
EXIT_UNUSABLE = 2  # nothing usable was done: the input cannot be used
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C (128 + SIGINT, as a shell reports it)


class Unusable(Exception):
    """Input an operation cannot use at all: a missing or wrong file, a key that is not one,
    a store another process holds. The message says what is wrong and what to do, in one
    line; the command line prints it and exits ``EXIT_UNUSABLE``."""


class Refused(Exception):
    """The evidence rules refuse an action: a role that does not allow it, footage of
    another officer, restricted footage without an approval, a deletion under a hold, a
    wrong password. ``reason`` is a short stable code (it goes into the audit record);
    the message says why and what would allow it. The command line prints it in one line
    and exits ``EXIT_NOT_OK``: the request was understood, and the answer is no."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
