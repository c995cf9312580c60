"""A test-only seam: one flush (`python -m hub_import flush`) whose groups wait at most
SHORT_HOLD_S seconds for more objects (hub_import.flush.shipper.HOLD_S), so that a test sees in seconds
what a deployment sees in half a minute.

    SHORT_HOLD_S=3 python -m tests.integration.short_hold
"""
from __future__ import annotations

import os
import sys


def main() -> int:
    from hub_import.flush import shipper
    from hub_import.ops import cli

    shipper.HOLD_S = float(os.environ.get("SHORT_HOLD_S", "3"))
    return cli.main(["flush"])


if __name__ == "__main__":
    sys.exit(main())
