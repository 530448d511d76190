"""Portable test runner that executes inside MicroPython (started by tools/mpy/run.mjs).

It is deliberately tiny and uses only what MicroPython has: ``sys.print_exception`` for
tracebacks and ``time.ticks_ms``/``time.ticks_diff`` for timings.

For each test module name it is given (dotted, e.g. ``tests.protocol.test_cbor``):

* if one of the module's first lines is a comment ``# micropython: skip (reason)`` the
  module is listed as skipped and never imported (``host.board.files.skip_reason`` reads
  the marker, for this runner as for ``sealcam flash`` and the type-check);
* otherwise it is imported (an import error counts as one failure) and every callable
  attribute whose name starts with ``test_`` is called, in sorted order.

The last line printed is the summary ``N passed, M failed, K skipped``. ``Run.finish``
returns the exit status: 0 only when nothing failed and at least one test ran.
"""

import gc
import sys
import time


def module_path(root, name):
    return root + "/" + name.replace(".", "/") + ".py"


def import_module(name):
    __import__(name)
    return sys.modules[name]


def collect(module):
    tests = []
    for attr in sorted(dir(module)):
        if attr.startswith("test_"):
            obj = getattr(module, attr)
            if callable(obj):
                tests.append((attr, obj))
    return tests


def report_failure(exc):
    sys.print_exception(exc, sys.stdout)


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def fail(self, label):
        self.failed += 1
        self.failures.append(label)


def skip_reason(path):
    """The skip reason declared at the top of the file at ``path``, or None (also when
    there is no such file: its import then fails and says so)."""
    from host.board.files import skip_reason as declared

    try:
        return declared(path)
    except OSError:
        return None


def run_module(root, name, tally):
    reason = skip_reason(module_path(root, name))
    if reason is not None:
        print("SKIP %s (%s)" % (name, reason))
        tally.skipped += 1
        return
    start = time.ticks_ms()
    try:
        module = import_module(name)
    except BaseException as exc:
        # Whatever stops the import (even SystemExit) is reported as one failure.
        print("FAIL %s (import, %d ms)" % (name, time.ticks_diff(time.ticks_ms(), start)))
        report_failure(exc)
        tally.fail(name + " (import)")
        return
    tests = collect(module)
    if not tests:
        print("NOTE %s defines no test_* functions" % name)
    for attr, fn in tests:
        label = name + "." + attr
        start = time.ticks_ms()
        try:
            fn()
        except BaseException as exc:
            # A test that raises SystemExit or KeyboardInterrupt has failed too.
            elapsed = time.ticks_diff(time.ticks_ms(), start)
            print("FAIL %s (%d ms)" % (label, elapsed))
            report_failure(exc)
            tally.fail(label)
        else:
            elapsed = time.ticks_diff(time.ticks_ms(), start)
            print("PASS %s (%d ms)" % (label, elapsed))
            tally.passed += 1
    gc.collect()


class Run:
    """One run over many modules, driven from JavaScript one module per call.

    The WebAssembly build collects garbage only when control is back in JavaScript (a
    ``gc.collect()`` inside a call merely schedules one), so a single call running every
    module never frees anything and the heap grows until the port's 2 GiB ceiling. The
    runner therefore returns after each module, and forgets the module it ran.
    """

    def __init__(self, root, count):
        if root not in sys.path:
            sys.path.insert(0, root)
        print("running under Python %s (%s)" % (sys.version, sys.platform))
        self.root = root
        self.count = count
        self.tally = Tally()
        self.start = time.ticks_ms()

    def module(self, name):
        run_module(self.root, name, self.tally)
        sys.modules.pop(name, None)

    def finish(self):
        """Print the summary; return the exit status."""
        tally = self.tally
        elapsed = time.ticks_diff(time.ticks_ms(), self.start)
        if tally.failures:
            print("")
            print("failed:")
            for label in tally.failures:
                print("  " + label)
        ran = tally.passed + tally.failed
        if ran == 0:
            print("")
            print("no tests ran (%d test modules selected)" % self.count)
        print("")
        print("ran %d tests in %d ms" % (ran, elapsed))
        print("%d passed, %d failed, %d skipped" % (tally.passed, tally.failed, tally.skipped))
        if tally.failed or ran == 0:
            return 1
        return 0
