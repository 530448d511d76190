"""Headless Chromium for the browser tests, driven by Playwright with Debian's executable.

The browser is the system's (`tools/system/install browser`), never Playwright's own download:
CI has no network but the package registries. The flags keep Chromium from reaching for
Google's services, which a closed network refuses many times a second. Tests that need it
take the `page` helper below and skip only when the executable is absent, saying how to get it.
"""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]

# Screenshots the tests save for people to look at (kept after the run, ignored by git).
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def executable() -> str | None:
    for name in (os.environ.get("SEALCAM_CHROMIUM", ""), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


def need_chromium() -> str:
    path = executable()
    if path is None:
        pytest.skip("Chromium is not installed: run tools/system/install browser")
    return path


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """A fresh headless Chromium with an empty profile; closed, and its profile removed, after."""
    path = need_chromium()
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="sealcam-chromium-")
    try:
        with sync_playwright() as play:
            context = play.chromium.launch_persistent_context(
                profile,
                executable_path=path,
                headless=True,
                args=FLAGS,
                viewport={"width": 1366, "height": 768},
                locale="zh-CN",
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out
