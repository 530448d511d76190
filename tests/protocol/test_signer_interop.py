"""The pure-Python Ed25519 and SHA-512 agree byte for byte with PyNaCl and hashlib."""
# micropython: skip (needs hypothesis and PyNaCl)

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from protocol import ed25519
from protocol.sha512 import PureSha512, sha512
from protocol.signer import (
    HAVE_NACL,
    Ed25519Signer,
    SignerError,
    generate_seed,
    make_signer,
    verify_signature,
)
from tests.portable import raises

seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=300)

# The pure implementation signs a few hundred messages a second: keep runs short.
ED_SETTINGS = settings(max_examples=30, deadline=None)


@ED_SETTINGS
@given(seeds, messages)
def test_pure_ed25519_matches_pynacl(seed, message):
    native = SigningKey(seed)
    public = bytes(native.verify_key)
    signature = native.sign(message).signature
    assert ed25519.public_key(seed) == public
    assert ed25519.sign(seed, message) == signature
    assert ed25519.verify(public, message, signature)


@ED_SETTINGS
@given(seeds, messages)
def test_pure_and_native_signers_agree(seed, message):
    pure = make_signer(seed, prefer_native=False)
    native = make_signer(seed)
    assert (pure.name, native.name) == ("pure-python", "pynacl")
    assert pure.public_key() == native.public_key()
    assert pure.sign(message) == native.sign(message)


@ED_SETTINGS
@given(
    seeds,
    messages,
    st.sampled_from(("public", "message", "signature")),
    st.integers(min_value=0, max_value=4095),
)
def test_verifiers_agree_on_tampering(seed, message, part, bit):
    key = SigningKey(seed)
    fields = {
        "public": bytes(key.verify_key),
        "message": message,
        "signature": key.sign(message).signature,
    }
    target = bytearray(fields[part])
    if target:
        index = (bit >> 3) % len(target)
        target[index] ^= 1 << (bit & 7)
    else:
        target.append(bit & 0xFF)
    fields[part] = bytes(target)
    args = (fields["public"], fields["message"], fields["signature"])
    assert verify_signature(*args) == ed25519.verify(*args)
    assert not verify_signature(*args)


@ED_SETTINGS
@given(st.binary(max_size=40), st.binary(max_size=70), messages)
def test_verifiers_agree_on_garbage(public, signature, message):
    assert verify_signature(public, message, signature) == ed25519.verify(
        public, message, signature
    )


def test_verifiers_agree_on_small_order_and_non_canonical_keys():
    key = SigningKey(bytes(range(32)))
    message = b"evidence"
    signature = key.sign(message).signature
    p = ed25519.P
    candidates = [
        (1).to_bytes(32, "little"),  # the neutral element
        (p - 1).to_bytes(32, "little"),  # the point of order 2
        (0).to_bytes(32, "little"),  # order 4
        (p + 3).to_bytes(32, "little"),  # y = 3 written non-canonically
        (1 | 1 << 255).to_bytes(32, "little"),  # x = 0 with the sign bit set
        (2).to_bytes(32, "little"),  # not on the curve
    ]
    for public in candidates:
        assert not verify_signature(public, message, signature), public.hex()
        assert not ed25519.verify(public, message, signature), public.hex()


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_pure_sha512_matches_hashlib(chunks):
    pure = PureSha512()
    native = hashlib.sha512()
    for chunk in chunks:
        pure.update(chunk)
        native.update(chunk)
        assert pure.copy().digest() == native.copy().digest()
    assert pure.digest() == native.digest()
    assert pure.hexdigest() == native.hexdigest()


def test_sha512_factory_uses_hashlib_on_cpython():
    assert type(sha512()) is type(hashlib.sha512())


def test_make_signer_prefers_pynacl():
    assert HAVE_NACL
    seed = bytes(32)
    signer = make_signer(seed)
    assert isinstance(signer, Ed25519Signer)
    assert signer.name == "pynacl"
    assert make_signer(seed, prefer_native=False).name == "pure-python"


def test_verify_signature_rejects_non_bytes_like_the_pure_verifier():
    key = SigningKey(bytes(32))
    public = bytes(key.verify_key)
    signature = key.sign(b"m").signature
    raises(TypeError, verify_signature, public.hex(), b"m", signature)
    raises(TypeError, ed25519.verify, public.hex(), b"m", signature)
    assert verify_signature(bytearray(public), memoryview(b"m"), bytearray(signature))


def test_generate_seed_gives_fresh_keys():
    seeds_seen = {generate_seed() for _ in range(8)}
    assert len(seeds_seen) == 8
    assert all(len(seed) == 32 for seed in seeds_seen)
    raises(SignerError, make_signer, bytes(31))
