"""Fixtures the host's command-line tests share, made from ``tests/host/helpers.py`` (where
what tests share lives): ``sealcam`` (run a command in this process), ``clock`` (the
desks' clock, moved by hand) and ``language_back`` (ask for it with
``pytestmark = pytest.mark.usefixtures("language_back")``)."""

import pytest

from tests.host import helpers

language_back = pytest.fixture(helpers.language_back)
clock = pytest.fixture(helpers.desk_clock, name="clock")
sealcam = pytest.fixture(helpers.run_sealcam, name="sealcam")
