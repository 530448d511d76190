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
# What is frozen: the modules of the `protocol` and `firmware` packages that the firmware on a
# board imports, as `sealcam flash` copies them, including your board port
# (firmware/ports/<board>.py, made from board_template.py). Both take that list from
# host/board/files.py, which says which modules a board runs and leaves out what needs CPython
# (the Linux terminal port firmware/ports/cpython.py, and any module whose first lines say
# "# micropython: skip (...)"), what only the host uses (the verifier), and the
# hardware-in-the-loop test command set firmware/testbench.py, which no recorder in service
# may carry (a debug image adds it itself: see docs/hil.md).
#
# MicroPython's build runs this file with the manifest functions (package, module, include,
# ...) defined, and with this file's folder as the working directory.
# ruff: noqa: F821

import importlib.util

ROOT = "../.."  # the sealcam repository, from this file's folder


def _board_files():
    """host/board/files.py, loaded by its path: the build's Python has no sealcam on its path."""
    spec = importlib.util.spec_from_file_location(
        "sealcam_board_files", ROOT + "/host/board/files.py"
    )
    files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(files)
    return files


_files = _board_files()
_image = _files.board_files(ROOT)
for _name in _files.PACKAGES:
    _prefix = _name + "/"
    package(
        _name, files=[p[len(_prefix) :] for p in _image if p.startswith(_prefix)], base_path=ROOT
    )
