"""``sealcam --version``: the installed package's version, in one line."""


def version_line() -> str:
    """``sealcam 0.1.0``; a source tree run without installing says so rather than fail."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "sealcam %s" % version("sealcam")
    except PackageNotFoundError:
        return "sealcam (not installed: version unknown)"
