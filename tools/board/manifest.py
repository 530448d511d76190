# A MicroPython manifest that freezes the sealcam device agent into a firmware image.
#
# For vendors who build their own MicroPython firmware. Frozen modules are compiled into
# the image: they run from flash (less RAM than modules loaded from the filesystem), start
# faster, and cannot be swapped on the board's filesystem. `sealcam flash` copies compiled
# modules to the filesystem instead; a board can take either, the provisioning is the same.
#
# How to use it, in a checkout of MicroPython 1.27 (the release sealcam is tested with):
#
#   1. Write your board's manifest, which takes the port's own modules and this one:
#
#          include("$(PORT_DIR)/boards/manifest.py")
#          include("/path/to/sealcam/tools/board/manifest.py")
#
#   2. Build the image with it (mpy-cross is built first, as for any image):
#
#          make -C mpy-cross
#          make -C ports/rp2 BOARD=YOUR_BOARD FROZEN_MANIFEST=/path/to/your/manifest.py
#
#   3. Flash the image with the port's usual tool, then provision the board (it makes its
#      key, the host enrols it, pins its keys and installs its signed config) with
#          sealcam flash --port PORT --device-id ID --evidence DIR --host-key KEY
#      Modules already frozen need not be copied, but copying them does no harm.
#
# What is frozen: the `protocol` package and the `firmware` package, including your board
# port (firmware/ports/<board>.py, made from board_template.py). What is left out: modules
# that run only on CPython (the Linux terminal port firmware/ports/cpython.py, and any
# module whose first lines say "# micropython: skip (...)"), and the hardware-in-the-loop
# test command set firmware/testbench.py, which no recorder in service may carry (a debug
# image adds it itself: see docs/hil.md).
#
# MicroPython's build runs this file with the manifest functions (package, module, include,
# ...) defined, and with this file's folder as the working directory.
# ruff: noqa: F821

import os

ROOT = "../.."  # the sealcam repository, from this file's folder
LEFT_OUT = ("firmware/ports/cpython.py", "firmware/testbench.py")
SKIP_MARKER = "# micropython: skip"


def _runs_on_micropython(path):
    with open(path, encoding="utf-8") as f:
        for _ in range(20):
            if f.readline().strip().startswith(SKIP_MARKER):
                return False
    return True


def _portable_files(name):
    """The package's modules for the image, as paths relative to the package."""
    top = os.path.join(ROOT, name)
    files = []
    for folder, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(names):
            path = os.path.join(folder, file)
            rel = os.path.relpath(path, top).replace(os.sep, "/")
            if not file.endswith(".py") or name + "/" + rel in LEFT_OUT:
                continue
            if _runs_on_micropython(path):
                files.append(rel)
    return files


package("protocol", files=_portable_files("protocol"), base_path=ROOT)
package("firmware", files=_portable_files("firmware"), base_path=ROOT)
