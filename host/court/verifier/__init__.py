"""The offline verifier page of a court package: one self-contained HTML file.

A prosecutor or judge opens ``verify.html`` from the disc in a current browser, with no
network and nothing installed, and chooses the package folder; the page checks every file's
SHA-256 against the manifest, every Ed25519 signature (WebCrypto), every chain link, the
host log's checkpoint and inclusion proofs, and shows each recording's state and timeline in
Chinese with English beside it.

The page is written as plain JavaScript files beside this module (no framework, nothing
fetched): ``page_html`` inlines them and the stylesheet into ``shell.html``, so the package
carries one file that works from ``file://``.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent

# In load order: each file adds one namespace to ``SC`` and uses only those before it.
SCRIPTS = (
    "cbor.js",
    "crypto.js",
    "cose.js",
    "tlog.js",
    "ledger.js",
    "mp4.js",
    "strings.js",
    "package.js",
    "ui.js",
)
STYLE = "page.css"
SHELL = "shell.html"
FILE_NAME = "verify.html"


def _inline_script(text: str) -> str:
    # A script's text ends at the first "</script": no source may hold one, escaped or not.
    if "</script" in text.lower():
        raise ValueError("a verifier script holds '</script', which would end it early")
    return text


def page_html() -> str:
    """The whole page, scripts and style inline."""
    shell = (HERE / SHELL).read_text(encoding="utf-8")
    style = (HERE / STYLE).read_text(encoding="utf-8")
    scripts = "\n".join(
        "// --- %s ---\n%s" % (name, _inline_script((HERE / name).read_text(encoding="utf-8")))
        for name in SCRIPTS
    )
    return shell.replace("/*STYLE*/", style).replace("/*SCRIPTS*/", scripts)


def write_page(folder: Path) -> Path:
    """Write the page into ``folder`` as verify.html; return its path."""
    out = Path(folder) / FILE_NAME
    out.write_bytes(page_html().encode("utf-8"))
    return out
