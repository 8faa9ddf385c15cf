"""Which legs of the suite can run here: PostgreSQL, Redis, Chromium, nginx.

`python -m tests.legs check` says what is missing (and fails under CI=true, where every leg
must run); `python -m tests.legs postgres` exits 0 when the PostgreSQL leg can run.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

CHROMIUM = Path(os.environ.get("DISCUSS_CHROMIUM", "/usr/bin/chromium"))
NGINX = Path(os.environ.get("DISCUSS_NGINX", "/usr/sbin/nginx"))
PG_ADDRESS = ("127.0.0.1", 5432)
REDIS_ADDRESS = ("127.0.0.1", 6379)


def reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def available() -> dict[str, bool]:
    return {
        "postgres": reachable(PG_ADDRESS),
        "redis": reachable(REDIS_ADDRESS),
        "chromium": CHROMIUM.exists(),
        "nginx": NGINX.exists(),
    }


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def main(argv: list[str]) -> int:
    legs = available()
    if argv[:1] == ["postgres"]:
        return 0 if legs["postgres"] else 1
    missing = [name for name, ok in legs.items() if not ok]
    for name in missing:
        print(f"!! {name} is not available here: its tests are skipped", file=sys.stderr)
    if missing and in_ci():
        print("!! under CI=true every leg must run: failing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
