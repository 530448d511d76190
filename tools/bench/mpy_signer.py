"""Pure-Python Ed25519 sign and verify rates under MicroPython (run by ledger_bench.py).

Prints one line: ``mpy-signer sign_per_s=<float> verify_per_s=<float> n=<int>``.
"""

import time

from protocol.signer import make_signer, verify_signature

N = 40
MESSAGE = bytes(1200)  # about the Sig_structure of a 1 s chunk entry at 30 fps

signer = make_signer(bytes(range(32)), prefer_native=False)
signer.sign(MESSAGE)  # builds the base-point table once, as a device does at boot
t0 = time.ticks_ms()
for _ in range(N):
    sig = signer.sign(MESSAGE)
t1 = time.ticks_ms()
for _ in range(N):
    verify_signature(signer.public_key(), MESSAGE, sig)
t2 = time.ticks_ms()
print(
    "mpy-signer sign_per_s=%.1f verify_per_s=%.1f n=%d"
    % (N * 1000 / time.ticks_diff(t1, t0), N * 1000 / time.ticks_diff(t2, t1), N)
)
