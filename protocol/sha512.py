"""SHA-512 (FIPS 180-4): hashlib's where the interpreter has it, else a pure-Python one.

MicroPython's ``hashlib`` offers only SHA-256, yet Ed25519 is defined over SHA-512, so the
device needs this module. ``sha512()`` picks the native implementation when there is one;
``PureSha512`` is always available so that tests can hold it against hashlib.
"""

import struct

try:
    import hashlib

    # MicroPython's hashlib has sha256 only; CPython's sha512 is OpenSSL's.
    _native_sha512 = getattr(hashlib, "sha512", None)
except ImportError:
    _native_sha512 = None

TYPE_CHECKING = False  # MicroPython has no typing module; mypy reads the name as True
if TYPE_CHECKING:
    from typing import Protocol

    class Hash(Protocol):
        """What callers may rely on from the object ``sha512()`` returns."""

        def update(self, __data: bytes) -> None: ...

        def digest(self) -> bytes: ...

        def copy(self) -> "Hash": ...


DIGEST_SIZE = 64
BLOCK_SIZE = 128

_MASK = 0xFFFFFFFFFFFFFFFF

# First 64 bits of the fractional parts of the square roots of the first eight primes.
_IV = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)  # fmt: skip

# First 64 bits of the fractional parts of the cube roots of the first eighty primes.
_K = (
    0x428A2F98D728AE22, 0x7137449123EF65CD, 0xB5C0FBCFEC4D3B2F, 0xE9B5DBA58189DBBC,
    0x3956C25BF348B538, 0x59F111F1B605D019, 0x923F82A4AF194F9B, 0xAB1C5ED5DA6D8118,
    0xD807AA98A3030242, 0x12835B0145706FBE, 0x243185BE4EE4B28C, 0x550C7DC3D5FFB4E2,
    0x72BE5D74F27B896F, 0x80DEB1FE3B1696B1, 0x9BDC06A725C71235, 0xC19BF174CF692694,
    0xE49B69C19EF14AD2, 0xEFBE4786384F25E3, 0x0FC19DC68B8CD5B5, 0x240CA1CC77AC9C65,
    0x2DE92C6F592B0275, 0x4A7484AA6EA6E483, 0x5CB0A9DCBD41FBD4, 0x76F988DA831153B5,
    0x983E5152EE66DFAB, 0xA831C66D2DB43210, 0xB00327C898FB213F, 0xBF597FC7BEEF0EE4,
    0xC6E00BF33DA88FC2, 0xD5A79147930AA725, 0x06CA6351E003826F, 0x142929670A0E6E70,
    0x27B70A8546D22FFC, 0x2E1B21385C26C926, 0x4D2C6DFC5AC42AED, 0x53380D139D95B3DF,
    0x650A73548BAF63DE, 0x766A0ABB3C77B2A8, 0x81C2C92E47EDAEE6, 0x92722C851482353B,
    0xA2BFE8A14CF10364, 0xA81A664BBC423001, 0xC24B8B70D0F89791, 0xC76C51A30654BE30,
    0xD192E819D6EF5218, 0xD69906245565A910, 0xF40E35855771202A, 0x106AA07032BBD1B8,
    0x19A4C116B8D2D0C8, 0x1E376C085141AB53, 0x2748774CDF8EEB99, 0x34B0BCB5E19B48A8,
    0x391C0CB3C5C95A63, 0x4ED8AA4AE3418ACB, 0x5B9CCA4F7763E373, 0x682E6FF3D6B2B8A3,
    0x748F82EE5DEFB2FC, 0x78A5636F43172F60, 0x84C87814A1F0AB72, 0x8CC702081A6439EC,
    0x90BEFFFA23631E28, 0xA4506CEBDE82BDE9, 0xBEF9A3F7B2C67915, 0xC67178F2E372532B,
    0xCA273ECEEA26619C, 0xD186B8C721C0C207, 0xEADA7DD6CDE0EB1E, 0xF57D4F7FEE6ED178,
    0x06F067AA72176FBA, 0x0A637DC5A2C898A6, 0x113F9804BEF90DAE, 0x1B710B35131C471B,
    0x28DB77F523047D84, 0x32CAAB7B40C72493, 0x3C9EBE0A15C9BEBC, 0x431D67C49C100D4C,
    0x4CC5D4BECB3E42B6, 0x597F299CFC657E2A, 0x5FCB6FAB3AD6FAEC, 0x6C44198C4A475817,
)  # fmt: skip


def _compress(state: list, block: bytes) -> None:
    """Run the 80 rounds over one 128-byte block, updating the eight words of ``state``."""
    # A rotation of a 64-bit x is read off x | x << 64 shifted right: one shift per rotation
    # and a single mask per sigma, which matters where every operation allocates a big int.
    mask = _MASK
    k = _K
    w = list(struct.unpack(">16Q", block))
    for t in range(16, 80):
        x = w[t - 15]
        xx = x | (x << 64)
        s0 = (((xx >> 1) ^ (xx >> 8)) & mask) ^ (x >> 7)
        x = w[t - 2]
        xx = x | (x << 64)
        s1 = (((xx >> 19) ^ (xx >> 61)) & mask) ^ (x >> 6)
        w.append((w[t - 16] + s0 + w[t - 7] + s1) & mask)
    a, b, c, d, e, f, g, h = state
    for t in range(80):
        ee = e | (e << 64)
        t1 = h + (((ee >> 14) ^ (ee >> 18) ^ (ee >> 41)) & mask) + (g ^ (e & (f ^ g)))
        t1 += k[t] + w[t]
        aa = a | (a << 64)
        t2 = (((aa >> 28) ^ (aa >> 34) ^ (aa >> 39)) & mask) + ((a & b) | (c & (a | b)))
        h = g
        g = f
        f = e
        e = (d + t1) & mask
        d = c
        c = b
        b = a
        a = (t1 + t2) & mask
    state[0] = (state[0] + a) & mask
    state[1] = (state[1] + b) & mask
    state[2] = (state[2] + c) & mask
    state[3] = (state[3] + d) & mask
    state[4] = (state[4] + e) & mask
    state[5] = (state[5] + f) & mask
    state[6] = (state[6] + g) & mask
    state[7] = (state[7] + h) & mask


class PureSha512:
    """SHA-512 in pure Python with the hashlib object interface."""

    digest_size = DIGEST_SIZE
    block_size = BLOCK_SIZE
    name = "sha512"

    def __init__(self, data: bytes = b"") -> None:
        self._state = list(_IV)
        self._buffer = b""
        self._length = 0
        if data:
            self.update(data)

    def update(self, data: bytes) -> None:
        """Feed more bytes into the hash."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("sha512 needs bytes, not %s" % type(data).__name__)
        n = len(data)
        if not n:
            return
        self._length += n
        buf = self._buffer
        pos = 0
        if buf:
            take = BLOCK_SIZE - len(buf)
            if n < take:
                self._buffer = buf + bytes(data)
                return
            _compress(self._state, buf + bytes(data[:take]))
            pos = take
        state = self._state
        end = n - BLOCK_SIZE
        while pos <= end:
            _compress(state, bytes(data[pos : pos + BLOCK_SIZE]))
            pos += BLOCK_SIZE
        self._buffer = bytes(data[pos:])

    def digest(self) -> bytes:
        """The 64-byte digest of everything fed so far; the object stays usable."""
        state = list(self._state)
        tail = self._buffer + b"\x80"
        pad = (BLOCK_SIZE - 16 - len(tail)) % BLOCK_SIZE
        tail += bytes(pad) + (self._length << 3).to_bytes(16, "big")
        for i in range(0, len(tail), BLOCK_SIZE):
            _compress(state, tail[i : i + BLOCK_SIZE])
        return struct.pack(">8Q", *state)

    def hexdigest(self) -> str:
        """The digest as lowercase hex."""
        return self.digest().hex()

    def copy(self) -> "PureSha512":
        """An independent hash object in the same state."""
        other = PureSha512()
        other._state = list(self._state)
        other._buffer = self._buffer
        other._length = self._length
        return other


def sha512(data: bytes = b"") -> "Hash":
    """A new SHA-512 object: hashlib's when the interpreter has one, else ``PureSha512``."""
    if _native_sha512 is not None:
        return _native_sha512(data)
    return PureSha512(data)


def has_native() -> bool:
    """Whether ``sha512()`` uses the interpreter's own SHA-512."""
    return _native_sha512 is not None
