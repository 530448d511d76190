"""``python -m host.cli``: the ``sealcam`` command without its console script."""

import sys

from host.cli.main import main

sys.exit(main())
