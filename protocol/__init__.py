"""What device and host share: the CBOR codec, ledger entries, signatures and the verifier.

Runs unchanged on MicroPython and CPython.
"""
