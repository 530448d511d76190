"""Ed25519 (RFC 8032 §7.1) and SHA-512 (FIPS 180-4) known answers for the pure implementations.

Portable: runs unchanged on CPython and on MicroPython.
"""

from protocol import ed25519
from protocol.sha512 import PureSha512, sha512
from protocol.signer import SignerError, generate_seed, make_signer
from tests.portable import raises


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# The 1023-byte message of RFC 8032 §7.1 "TEST 1024".
MESSAGE_1024 = (
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f5"
    "4e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37"
    "c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efc"
    "b8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b"
    "3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573c"
    "b116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204"
    "ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958"
    "d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c6"
    "5adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2"
    "cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a"
    "71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
    "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9"
    "b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb"
    "038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f672451"
    "7b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e"
    "2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d"
    "5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0"
    "f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041"
    "e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa9"
    "33a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185"
    "c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c"
    "15fc910840b94c00a0b9d0"
)

# (name, secret seed, public key, message, signature), all hex, from RFC 8032 §7.1.
VECTORS = (
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        MESSAGE_1024,
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
        "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
        "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
)

# TEST 2 decoded, for the tampering checks.
SEED = h(VECTORS[1][1])
PUBLIC = h(VECTORS[1][2])
MESSAGE = h(VECTORS[1][3])
SIGNATURE = h(VECTORS[1][4])

L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED
P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit >> 3] ^= 1 << (bit & 7)
    return bytes(out)


def with_s(signature: bytes, s: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "little")


# --- Ed25519 known answers ---------------------------------------------------------------------


def test_rfc8032_public_keys():
    for name, seed, public, _, _ in VECTORS:
        assert ed25519.public_key(h(seed)) == h(public), name


def test_rfc8032_signatures():
    for name, seed, _, message, signature in VECTORS:
        assert ed25519.sign(h(seed), h(message)) == h(signature), name


def test_rfc8032_verify():
    for name, _, public, message, signature in VECTORS:
        assert ed25519.verify(h(public), h(message), h(signature)), name


def test_rfc8032_through_pure_signer():
    for name, seed, public, message, signature in VECTORS:
        signer = make_signer(h(seed), prefer_native=False)
        assert signer.name == "pure-python"
        assert signer.public_key() == h(public), name
        assert signer.sign(h(message)) == h(signature), name


def test_signing_key_signs_repeatedly():
    key = ed25519.SigningKey(SEED)
    assert key.public_key == PUBLIC
    assert key.sign(MESSAGE) == SIGNATURE
    assert key.sign(bytearray(MESSAGE)) == SIGNATURE
    assert key.sign(memoryview(MESSAGE)) == SIGNATURE


def test_verify_accepts_other_byte_types():
    assert ed25519.verify(bytearray(PUBLIC), memoryview(MESSAGE), bytearray(SIGNATURE))


# --- Ed25519 rejections ------------------------------------------------------------------------


def test_verify_rejects_flipped_message_bit():
    message = h(VECTORS[2][3])
    for bit in range(len(message) * 8):
        assert not ed25519.verify(h(VECTORS[2][2]), flip(message, bit), h(VECTORS[2][4])), bit
    assert not ed25519.verify(PUBLIC, MESSAGE + b"\x00", SIGNATURE)
    assert not ed25519.verify(PUBLIC, b"", SIGNATURE)


def test_verify_rejects_flipped_signature_bit():
    # Bits of R, of S below and at the top of its range, and the sign bit of R.
    for bit in (0, 7, 100, 254, 255, 256, 300, 400, 500, 507, 511):
        assert not ed25519.verify(PUBLIC, MESSAGE, flip(SIGNATURE, bit)), bit


def test_verify_rejects_flipped_key_bit():
    for bit in (0, 1, 64, 128, 200, 254, 255):
        assert not ed25519.verify(flip(PUBLIC, bit), MESSAGE, SIGNATURE), bit


def test_verify_rejects_s_at_or_above_group_order():
    s = int.from_bytes(SIGNATURE[32:], "little")
    assert ed25519.verify(PUBLIC, MESSAGE, with_s(SIGNATURE, s))
    # S + L passes the group equation, so only the range check can refuse it.
    assert not ed25519.verify(PUBLIC, MESSAGE, with_s(SIGNATURE, s + L))
    assert not ed25519.verify(PUBLIC, MESSAGE, with_s(SIGNATURE, L))
    assert not ed25519.verify(PUBLIC, MESSAGE, with_s(SIGNATURE, (1 << 256) - 1))


def test_verify_rejects_wrong_lengths():
    assert not ed25519.verify(PUBLIC[:31], MESSAGE, SIGNATURE)
    assert not ed25519.verify(PUBLIC + b"\x00", MESSAGE, SIGNATURE)
    assert not ed25519.verify(b"", MESSAGE, SIGNATURE)
    assert not ed25519.verify(PUBLIC, MESSAGE, SIGNATURE[:63])
    assert not ed25519.verify(PUBLIC, MESSAGE, SIGNATURE + b"\x00")
    assert not ed25519.verify(PUBLIC, MESSAGE, b"")


def test_verify_rejects_keys_off_the_curve_or_not_canonical():
    # y = 2 has no x on the curve.
    assert ed25519._decode((2).to_bytes(32, "little")) is None
    assert not ed25519.verify((2).to_bytes(32, "little"), MESSAGE, SIGNATURE)
    # y = 3 is on the curve, but P + 3 is not the canonical way to write it.
    assert ed25519._decode((3).to_bytes(32, "little")) is not None
    assert ed25519._decode((P + 3).to_bytes(32, "little")) is None
    assert not ed25519.verify((P + 3).to_bytes(32, "little"), MESSAGE, SIGNATURE)
    # x = 0 with the sign bit set ("negative zero").
    assert ed25519._decode((1 | 1 << 255).to_bytes(32, "little")) is None


def test_verify_rejects_small_order_key():
    # With the neutral element as key, R = S*B makes the group equation hold for any message.
    neutral = (1).to_bytes(32, "little")
    s = 12345
    forged = ed25519._encode(ed25519._base_mul(s)) + s.to_bytes(32, "little")
    assert not ed25519.verify(neutral, b"any message", forged)


def test_verify_rejects_small_order_r():
    # S = k*a makes S*B - k*A the neutral element, so R = neutral satisfies the equation.
    neutral = (1).to_bytes(32, "little")
    scalar = ed25519.SigningKey(SEED)._scalar
    k = int.from_bytes(sha512(neutral + PUBLIC + MESSAGE).digest(), "little") % L
    forged = neutral + (k * scalar % L).to_bytes(32, "little")
    assert not ed25519.verify(PUBLIC, MESSAGE, forged)


def test_verify_rejects_non_bytes():
    raises(TypeError, ed25519.verify, "key", MESSAGE, SIGNATURE)
    raises(TypeError, ed25519.verify, PUBLIC, None, SIGNATURE)
    raises(TypeError, ed25519.verify, PUBLIC, MESSAGE, 5)


def test_sign_rejects_bad_seed():
    raises(ValueError, ed25519.sign, SEED[:31], MESSAGE)
    raises(TypeError, ed25519.sign, "seed", MESSAGE)
    raises(SignerError, make_signer, SEED + b"\x00", False)


def test_generate_seed():
    try:
        a = generate_seed()
    except SignerError as exc:
        # Interpreters without os.urandom must say so rather than use weak randomness.
        assert "entropy" in str(exc)
        return
    assert len(a) == 32
    assert a != generate_seed()


# --- SHA-512 known answers (FIPS 180-4 examples) -----------------------------------------------

SHA_VECTORS = (
    (
        b"",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    ),
    (
        b"abc",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
        "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445",
    ),
    (
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
        b"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
        "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    ),
)

# 1000 bytes (i*7 + 3) mod 256: eight blocks, the last one partial.
LONG_MESSAGE_DIGEST = (
    "00e36fccf193e59697a92b5ab24666ce6326d7fa16bf10832d0991ddc591112e"
    "9dfa6a636950ed9c4d67344a760654c2ff7785e1d60094d651038735b5dccabd"
)


def long_message() -> bytes:
    return bytes((i * 7 + 3) & 0xFF for i in range(1000))


def test_sha512_known_answers():
    for message, digest in SHA_VECTORS:
        assert PureSha512(message).digest() == h(digest), message
        assert PureSha512(message).hexdigest() == digest, message
        assert sha512(message).digest() == h(digest), message


def test_sha512_fed_in_odd_pieces():
    message = long_message()
    hasher = PureSha512()
    sizes = (1, 3, 5, 127, 129, 255, 0, 17)
    pos = 0
    i = 0
    while pos < len(message):
        n = sizes[i % len(sizes)]
        hasher.update(message[pos : pos + n])
        pos += n
        i += 1
    assert hasher.digest() == h(LONG_MESSAGE_DIGEST)
    assert PureSha512(message).digest() == h(LONG_MESSAGE_DIGEST)
    assert PureSha512(memoryview(message)).digest() == h(LONG_MESSAGE_DIGEST)


def test_sha512_digest_and_copy_leave_state_alone():
    abc_digest = h(SHA_VECTORS[1][1])
    hasher = PureSha512(b"a")
    fork = hasher.copy()
    hasher.update(b"bc")
    assert hasher.digest() == abc_digest
    assert hasher.digest() == abc_digest
    fork.update(b"b")
    fork.update(b"c")
    assert fork.digest() == abc_digest
    hasher.update(b"x")
    assert hasher.digest() != abc_digest


def test_sha512_rejects_str():
    raises(TypeError, PureSha512, "abc")
