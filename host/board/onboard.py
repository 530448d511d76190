"""The code ``sealcam flash`` runs on the board, through its raw REPL.

Each is a template for ``%`` with the values named in it; run, it prints one ``repr`` that
the host reads back with ``ast.literal_eval``. It must run on MicroPython 1.19 or newer with
nothing of sealcam on the board (QUERY, PREPARE) or with the image just copied (the rest),
and delete the helper names it defines from the REPL's namespace.
"""

# What the board runs and whether it already holds a device key (the file %(key)s).
QUERY = """
import os, sys
try:
    os.stat(%(key)r)
    _have_key = True
except OSError:
    _have_key = False
print(repr({
    "name": sys.implementation.name,
    "release": tuple(sys.implementation.version[:3]),
    "mpy": getattr(sys.implementation, "_mpy", None),
    "machine": getattr(sys.implementation, "_machine", ""),
    "platform": sys.platform,
    "version": sys.version,
    "cwd": os.getcwd(),
    "provisioned": _have_key,
}))
del _have_key
"""

# Remove what is on the board under %(packages)s but not in %(keep)s (a stale .py beside a
# new .mpy would shadow it), and make the folders %(dirs)s.
PREPARE = """
import os
def _sealcam_prepare(keep, dirs):
    removed = []
    def walk(top):
        try:
            entries = list(os.ilistdir(top))
        except OSError:
            return
        for entry in entries:
            path = top + "/" + entry[0]
            if entry[1] == 0x4000:
                walk(path)
            elif path not in keep:
                os.remove(path)
                removed.append(path)
    for top in %(packages)r:
        walk(top)
    for d in dirs:
        try:
            os.mkdir(d)
        except OSError:
            pass
    return removed
print(repr(_sealcam_prepare(set(%(keep)r), %(dirs)r)))
del _sealcam_prepare
"""

# The SHA-256 of each file in %(paths)s, or None where it is missing.
HASHES = """
import binascii, hashlib
def _sealcam_hashes(paths):
    out = {}
    buf = bytearray(512)
    for path in paths:
        h = hashlib.sha256()
        try:
            f = open(path, "rb")
        except OSError:
            out[path] = None
            continue
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf[:n])
        f.close()
        out[path] = binascii.hexlify(h.digest()).decode()
    return out
print(repr(_sealcam_hashes(%(paths)r)))
del _sealcam_hashes
"""

# Import each module in %(names)s; the ones that fail, with why.
IMPORTS = """
import gc
def _sealcam_imports(names):
    failed = {}
    for name in names:
        try:
            __import__(name)
        except Exception as exc:
            failed[name] = "%%s: %%s" %% (type(exc).__name__, exc)
        gc.collect()
    return failed
print(repr(_sealcam_imports(%(names)r)))
del _sealcam_imports
"""

# The board makes its key pair in the store %(store)r for %(device_id)r; prints the public key.
PROVISION = (
    "import binascii\nfrom firmware.provision import provision\n"
    "print(repr(binascii.hexlify(provision(%(store)r, %(device_id)r)).decode()))"
)

# Pin the host keys (encoded, as hex); prints the key ids pinned.
INSTALL_HOST_KEYS = (
    "import binascii\nfrom firmware.provision import install_host_keys\n"
    "print(repr(install_host_keys(%(store)r, binascii.unhexlify(%(keys)r))))"
)

# Install the signed config (as hex); prints its settings as the board read them.
INSTALL_CONFIG = (
    "import binascii\nfrom firmware.provision import install_config\n"
    "print(repr(install_config(%(store)r, binascii.unhexlify(%(config)r))))"
)

# The pinned host keys (hex) and the SHA-256 of the installed config, read back.
TRUST = (
    "import binascii, hashlib\n"
    "from firmware.provision import installed_config, pinned_host_keys\n"
    "_raw = installed_config(%(store)r)\n"
    "print(repr((dict((k, binascii.hexlify(v).decode()) for k, v in "
    "pinned_host_keys(%(store)r).items()), _raw and binascii.hexlify(hashlib.sha256(_raw)"
    ".digest()).decode())))\n"
    "del _raw"
)

# The device key signs the challenge %(challenge)r (hex); prints the signature.
PROVE_KEY = (
    "import binascii\nfrom firmware.provision import prove_key\n"
    "print(repr(binascii.hexlify(prove_key(%(store)r, binascii.unhexlify(%(challenge)r)))"
    ".decode()))"
)
