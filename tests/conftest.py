"""pytest settings shared by the suite (MicroPython's runner does not read this file)."""

import os
import signal

from hypothesis import HealthCheck, settings

# Shared 2-core CI machines have noisy timing: examples are judged on results, not speed.
settings.register_profile("sealcam", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sealcam")

# The suite reads the commands' English output: a Chinese locale on the machine running it
# must not turn it Chinese (host.i18n); the language tests choose their own.
for _name in ("LC_ALL", "LC_MESSAGES", "LANG"):
    if os.environ.get(_name, "").startswith("zh"):
        os.environ[_name] = "C.UTF-8"

# Passwords in tests are hashed at argon2's cheapest cost: the cost is not under test (a
# stored hash names its own parameters, so verification is the same code either way).
try:
    from argon2 import PasswordHasher, profiles

    from host import people

    people.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
except ImportError:  # the portable tests' interpreters have neither
    pass

# A suite started in the background by a shell without job control (``tools/test &`` in a
# script, a CI runner's detached step) inherits Ctrl-C ignored, as POSIX has it, and so
# would every process a test starts: the tests of what Ctrl-C does would then wait for ever.
# Each test process takes Ctrl-C as a terminal gives it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
