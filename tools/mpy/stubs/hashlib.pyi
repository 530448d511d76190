# MicroPython 1.27 core hashlib, as the pinned WebAssembly build has it: SHA-256 only
# (no sha1, sha512, md5, new(), hexdigest() or copy()). digest() finalises the hash:
# a second digest() or a later update() raises ValueError("hash is final").

_Buffer = bytes | bytearray | memoryview

class sha256:
    def __init__(self, data: _Buffer = ..., /) -> None: ...
    def update(self, data: _Buffer, /) -> None: ...
    def digest(self) -> bytes: ...
