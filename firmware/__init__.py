"""The recorder agent. Runs unchanged on MicroPython and CPython."""
