"""The adaptive signing cadence: how many entries one signature covers, so signing keeps up.

A fast signer (PyNaCl, a secure element) signs every entry: K = 1. A slow one (pure-Python
Ed25519 on a microcontroller) signs every K-th entry, K chosen from the measured cost of a
signature and the time between entries, so that signing takes at most ``budget_percent`` of
real time. The signature of every K-th entry covers the ones before it through the hash
chain. This object only does arithmetic on measurements the caller takes with its own clock.
"""


class SigningCadence:
    """Chooses K from measured signing times; feed it every signature's cost."""

    def __init__(self, budget_percent: int = 50, max_k: int = 64) -> None:
        if not 0 < budget_percent <= 100 or max_k < 1:
            raise ValueError("budget_percent must be 1..100 and max_k at least 1")
        self.budget_percent = budget_percent
        self.max_k = max_k
        self.k = 1
        self._avg_us = -1  # smoothed signing cost, microseconds

    def observe(self, sign_us: int, interval_us: int) -> int:
        """Record one signature's cost and the time between entries; return the new K."""
        if interval_us <= 0:
            return self.k
        if self._avg_us < 0:
            self._avg_us = sign_us
        else:
            # Smooth over about four signatures, so one slow call (a GC pause) does not swing K.
            self._avg_us = (3 * self._avg_us + sign_us) // 4
        allowed = self.budget_percent * interval_us
        need = -(-self._avg_us * 100 // allowed)  # ceil: signatures per entry we can afford
        need = max(1, min(self.max_k, need))
        if need > self.k:
            self.k = need  # fall behind never: step up at once
        elif need < self.k:
            self.k -= 1  # step down one at a time, so K does not flap
        return self.k
