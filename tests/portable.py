"""Test helpers that work the same under pytest on CPython and under MicroPython.

Portable test modules use plain functions named ``test_*`` and bare ``assert``; they
import nothing that MicroPython lacks. Modules that need CPython (hypothesis, PyNaCl,
cbor2, pycose, subprocesses) carry a line ``# micropython: skip (reason)`` so that
``tools/mpy-test`` lists them as skipped instead of failing to import them.
"""

import os


def raises(exc_type, fn, *args, **kwargs):
    """Call ``fn`` and return the exception of ``exc_type`` it raised; fail if it did not."""
    try:
        fn(*args, **kwargs)
    except exc_type as exc:
        return exc
    raise AssertionError("expected %s from %s" % (exc_type.__name__, fn.__name__))


# Temporary directories that work on CPython and on MicroPython's in-memory filesystem.

_made = [0]


def _is_dir(path):
    return os.stat(path)[0] & 0x4000 != 0


def remove_tree(path):
    if _is_dir(path):
        for name in os.listdir(path):
            remove_tree(path + "/" + name)
        os.rmdir(path)
    else:
        os.remove(path)


def _writable_base():
    for base in ("/tmp", "."):
        probe = base + "/sealcam-test-probe"
        try:
            os.mkdir(probe)
            os.rmdir(probe)
            return base
        except OSError:
            pass
    raise AssertionError("no writable directory for test stores")


class TempDir:
    """A fresh directory, removed with everything in it on exit."""

    def __enter__(self):
        base = _writable_base()
        while True:
            _made[0] += 1
            path = "%s/sealcam-test-%d-%d" % (base, id(_made) & 0xFFFF, _made[0])
            try:
                os.mkdir(path)
                break
            except OSError:
                pass
        self.path = path
        return path

    def __exit__(self, *exc):
        remove_tree(self.path)
        return False
