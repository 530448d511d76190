"""The firmware package's exceptions: one root, a subclass per kind of failure."""


class FirmwareError(Exception):
    """Root of every error raised by the firmware package."""


class StoreError(FirmwareError):
    """The on-device store cannot do what was asked; the message says why and what to do."""


class StorageFull(StoreError):
    """Not enough free space that the retention rules allow to be used."""


class RecorderError(FirmwareError):
    """An input the recorder cannot accept in its current state."""


class ConfigError(FirmwareError):
    """A configuration change that is unsigned, badly signed, or breaks a rule."""
