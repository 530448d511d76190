"""What the scale-out tests share: the services' command."""
# micropython: skip (host code, real services)

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "tools" / "services" / "services"
START_S = 600  # a bound on the services' start or stop, reached only when they are broken


def services_command(action: str, state) -> subprocess.CompletedProcess:
    """``tools/services/services ACTION --state STATE``, run to its end."""
    return subprocess.run(
        [str(SERVICES), action, "--state", str(state)],
        capture_output=True, text=True, timeout=START_S,
    )  # fmt: skip
