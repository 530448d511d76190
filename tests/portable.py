"""Test helpers that work the same under pytest on CPython and under MicroPython.

Portable test modules use plain functions named ``test_*`` and bare ``assert``; they
import nothing that MicroPython lacks. Modules that need CPython (hypothesis, PyNaCl,
cbor2, pycose, subprocesses) carry a line ``# micropython: skip (reason)`` so that
``tools/mpy-test`` lists them as skipped instead of failing to import them.
"""


def raises(exc_type, fn, *args, **kwargs):
    """Call ``fn`` and return the exception of ``exc_type`` it raised; fail if it did not."""
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        return exc
    raise AssertionError("expected %s from %s" % (exc_type.__name__, fn.__name__))
