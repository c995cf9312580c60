"""`python -m hub_import`, and the `hub-import` command that `pip install .` makes (pyproject.toml):
one entry point, so both are the same CLI."""
import os
import sys

from hub_import import __version__
from hub_import.ops.cli import main as cli_main


def main() -> int:
    # The name the user typed, for the usage line and --version.
    called = os.path.basename(sys.argv[0])
    prog = "python -m hub_import" if called == "__main__.py" else called or "hub-import"
    return cli_main(prog=prog, version=__version__)


if __name__ == "__main__":
    sys.exit(main())
