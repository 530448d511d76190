"""The court package (R-HOST-4): recordings with their proofs and note, for a court, on a
disc. ``package`` builds it, ``iso`` writes its disc image, ``check`` verifies it as the
offline page does; docs/court-package.md is its format."""
