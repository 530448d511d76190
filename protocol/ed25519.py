"""Ed25519 signatures (RFC 8032) in pure Python, fast enough for a microcontroller.

Points live in extended twisted Edwards coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z and
x*y = T/Z, so that additions and doublings need no inversion. Multiples of the base point
come from a table of 256 precomputed points (32 rows of 1..8 times 256**i * B), built on the
first call that needs it and kept for the life of the process: a scalar multiplication of B
then costs 64 additions and 4 doublings. Other points are multiplied with a width-5
non-adjacent form.

Verification is the cofactorless check [S]B = R + [k]A and, like libsodium, rejects a
non-canonical S, a public key or R that does not decode canonically, and a public key or R
of small order.

This code branches and indexes on secret scalars and Python integers are not constant-time:
it does not resist timing side channels. Use a native library where one exists.
"""

from protocol.sha512 import sha512

# The field prime 2**255 - 19 and the prime order of the base point, 2**252 + 2774...3493.
P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED
L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED

# Curve constant d = -121665/121666 mod P, and 2*d as the addition formulas use it.
_D = 0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3
_D2 = 0x2406D9DC56DFFCE7198E80F2EEF3D13000E0149A8283B156EBD69B9426B2F159
# A square root of -1 mod P: 2**((P-1)/4).
_SQRT_M1 = 0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0
# The base point B = (x, 4/5) with x even.
_BX = 0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A
_BY = 0x6666666666666666666666666666666666666666666666666666666666666658
# Exponents for inversion (Fermat) and for the square root in decoding.
_P_MINUS_2 = P - 2
_P_SQRT_EXP = (P - 5) // 8
_Y_MASK = (1 << 255) - 1

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64

_BYTES = (bytes, bytearray, memoryview)

# The base-point table, built by _base_table() on first use.
_TABLE = None


def need_bytes(name: str, value: bytes) -> None:
    """TypeError unless ``value`` is bytes-like (bytes, bytearray, memoryview)."""
    if not isinstance(value, _BYTES):
        raise TypeError("%s must be bytes, not %s" % (name, type(value).__name__))


# --- Points ---------------------------------------------------------------------------------
#
# A point is a tuple (X, Y, Z, T). A "cached" point, the second operand of an addition, is
# (Y-X, Y+X, 2*Z, 2*d*T); an "affine" table entry is the same with Z = 1 left out:
# (y-x, y+x, 2*d*x*y). Negating either swaps its first two items and negates the last.
# The formulas are those of Hisil, Wong, Carter and Dawson (2008) for a = -1.


def _double(p: tuple) -> tuple:
    """2*p."""
    x, y, z, _ = p
    a = x * x % P
    b = y * y % P
    c = 2 * z * z % P
    h = a + b
    s = x + y
    e = h - s * s
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _add(p: tuple, q: tuple) -> tuple:
    """p + q for ``q`` in cached form."""
    x, y, z, t = p
    qm, qp, qz, qt = q
    a = (y - x) * qm % P
    b = (y + x) * qp % P
    c = t * qt % P
    d = z * qz % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _cached(p: tuple) -> tuple:
    """``p`` in the form ``_add`` takes as its second operand."""
    x, y, z, t = p
    return ((y - x) % P, (y + x) % P, 2 * z % P, t * _D2 % P)


def _encode(p: tuple) -> bytes:
    """The 32-byte encoding of ``p``: y little-endian, the low bit of x in the top bit."""
    x, y, z, _ = p
    zi = pow(z, _P_MINUS_2, P)
    x = x * zi % P
    y = y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _decode(s: bytes) -> tuple | None:
    """The point encoded by 32 bytes ``s`` (RFC 8032 §5.1.3), or None if there is none."""
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= _Y_MASK
    if y >= P:
        return None
    yy = y * y % P
    u = (yy - 1) % P
    v = (_D * yy + 1) % P
    v3 = v * v % P * v % P
    uv3 = u * v3 % P
    x = uv3 * pow(uv3 * v3 % P * v % P, _P_SQRT_EXP, P) % P
    vxx = v * x % P * x % P
    if vxx != u:
        if vxx != P - u:
            return None
        x = x * _SQRT_M1 % P
    if x & 1 != sign:
        if x == 0:
            return None
        x = P - x
    return (x, y, 1, x * y % P)


def _has_small_order(p: tuple) -> bool:
    """Whether 8*p is the neutral element, i.e. p lies in the torsion subgroup."""
    p = _double(_double(_double(p)))
    return p[0] == 0 and p[1] == p[2]


# --- Fixed-base multiplication --------------------------------------------------------------


def _base_table() -> list:
    """The table of affine j * 256**i * B for i < 32, 1 <= j <= 8, at index 8*i + j - 1."""
    global _TABLE
    if _TABLE is not None:
        return _TABLE
    points = []
    row = (_BX, _BY, 1, _BX * _BY % P)
    for _ in range(32):
        step = _cached(row)
        p = row
        points.append(p)
        for _ in range(7):
            p = _add(p, step)
            points.append(p)
        # 256 * row = 32 * (8 * row), and p is 8 * row.
        for _ in range(5):
            p = _double(p)
        row = p
    # Turn every Z into 1 with a single inversion (Montgomery's trick).
    prefix = []
    acc = 1
    for p in points:
        prefix.append(acc)
        acc = acc * p[2] % P
    inv = pow(acc, _P_MINUS_2, P)
    table: list = [None] * len(points)
    for i in range(len(points) - 1, -1, -1):
        x, y, z, _ = points[i]
        zi = inv * prefix[i] % P
        inv = inv * z % P
        x = x * zi % P
        y = y * zi % P
        table[i] = ((y - x) % P, (y + x) % P, x * y % P * _D2 % P)
    _TABLE = table
    return table


def _radix16(n: int) -> list:
    """Signed base-16 digits of 0 <= n < 2**255, least significant first, each in -8..8."""
    raw = n.to_bytes(32, "little")
    digits = []
    carry = 0
    for byte in raw:
        v = (byte & 15) + carry
        carry = (v + 8) >> 4
        digits.append(v - (carry << 4))
        v = (byte >> 4) + carry
        carry = (v + 8) >> 4
        digits.append(v - (carry << 4))
    # n < 2**255 keeps the top nibble at most 7, so the last digit absorbs the carry.
    digits[63] += carry << 4
    return digits


def _base_mul(n: int) -> tuple:
    """n * B for 0 <= n < 2**255."""
    table = _base_table()
    digits = _radix16(n)
    x, y, z, t = 0, 1, 1, 0
    for start in (1, 0):
        if start == 0:
            # The odd digits were added with weight 256**i; multiply them by 16.
            for _ in range(4):
                x, y, z, t = _double((x, y, z, t))
        for i in range(start, 64, 2):
            d = digits[i]
            if not d:
                continue
            if d > 0:
                qm, qp, qt = table[(i >> 1) * 8 + d - 1]
            else:
                qp, qm, qt = table[(i >> 1) * 8 - d - 1]
                qt = P - qt
            a = (y - x) * qm % P
            b = (y + x) * qp % P
            c = t * qt % P
            dd = 2 * z
            e = b - a
            f = dd - c
            g = dd + c
            h = b + a
            x = e * f % P
            y = g * h % P
            z = f * g % P
            t = e * h % P
    return (x, y, z, t)


# --- Variable-base multiplication -----------------------------------------------------------


def _naf5(n: int) -> list:
    """Width-5 non-adjacent form of n >= 0: odd digits in -15..15, least significant first."""
    digits = []
    while n:
        if n & 1:
            d = n & 31
            if d > 16:
                d -= 32
            n -= d
        else:
            d = 0
        digits.append(d)
        n >>= 1
    return digits


def _mul(n: int, p: tuple) -> tuple:
    """n * p for n >= 0."""
    odd = [_cached(p)]  # 1p, 3p, 5p, ..., 15p
    p2 = _cached(_double(p))
    q = p
    for _ in range(7):
        q = _add(q, p2)
        odd.append(_cached(q))
    x, y, z, t = 0, 1, 1, 0
    digits = _naf5(n)
    for i in range(len(digits) - 1, -1, -1):
        # Double (the T coordinate is only needed before an addition).
        a = x * x % P
        b = y * y % P
        c = 2 * z * z % P
        h = a + b
        s = x + y
        e = h - s * s
        g = a - b
        f = c + g
        x = e * f % P
        y = g * h % P
        z = f * g % P
        d = digits[i]
        if not d:
            continue
        t = e * h % P
        if d > 0:
            qm, qp, qz, qt = odd[d >> 1]
        else:
            qp, qm, qz, qt = odd[(-d) >> 1]
            qt = P - qt
        a = (y - x) * qm % P
        b = (y + x) * qp % P
        c = t * qt % P
        dd = z * qz % P
        e = b - a
        f = dd - c
        g = dd + c
        h = b + a
        x = e * f % P
        y = g * h % P
        z = f * g % P
    t = e * h % P if digits else 0
    return (x, y, z, t)


# --- Ed25519 --------------------------------------------------------------------------------


def _hash_int(*parts: bytes) -> int:
    """SHA-512 of the concatenated parts as a little-endian integer reduced mod L."""
    h = sha512()
    for part in parts:
        h.update(part)
    return int.from_bytes(h.digest(), "little") % L


class SigningKey:
    """An Ed25519 private key expanded from its 32-byte seed, ready to sign many messages."""

    def __init__(self, seed: bytes) -> None:
        need_bytes("seed", seed)
        if len(seed) != SEED_SIZE:
            raise ValueError("an Ed25519 seed is %d bytes, not %d" % (SEED_SIZE, len(seed)))
        h = sha512(bytes(seed)).digest()
        a = int.from_bytes(h[:32], "little")
        a &= (1 << 254) - 8
        a |= 1 << 254
        self._scalar = a % L
        self._prefix = h[32:]
        self.public_key = _encode(_base_mul(self._scalar))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature R || S of ``message`` (RFC 8032 §5.1.6)."""
        need_bytes("message", message)
        r = _hash_int(self._prefix, message)
        big_r = _encode(_base_mul(r))
        k = _hash_int(big_r, self.public_key, message)
        s = (r + k * self._scalar) % L
        return big_r + s.to_bytes(32, "little")


def public_key(seed: bytes) -> bytes:
    """The 32-byte public key for a 32-byte seed."""
    return SigningKey(seed).public_key


def sign(seed: bytes, message: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``message`` under the key with this seed."""
    return SigningKey(seed).sign(message)


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid signature of ``message`` under ``public``."""
    need_bytes("public key", public)
    need_bytes("message", message)
    need_bytes("signature", signature)
    if len(public) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    public = bytes(public)
    big_r = bytes(signature[:32])
    s = int.from_bytes(bytes(signature[32:]), "little")
    if s >= L:
        return False
    a = _decode(public)
    if a is None or _has_small_order(a):
        return False
    k = _hash_int(big_r, public, message)
    x, y, z, t = a
    minus_a = (P - x if x else 0, y, z, P - t if t else 0)
    q = _add(_mul(k, minus_a), _cached(_base_mul(s)))
    if _encode(q) != big_r:
        return False
    # R equals q and so is a valid point; refuse it if it has small order.
    return not _has_small_order(q)
