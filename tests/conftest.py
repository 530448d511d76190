"""pytest settings shared by the suite (MicroPython's runner does not read this file)."""

from hypothesis import HealthCheck, settings

# Shared 2-core CI machines have noisy timing: examples are judged on results, not speed.
settings.register_profile("sealcam", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("sealcam")
