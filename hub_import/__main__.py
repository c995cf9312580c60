import sys

from hub_import.ops.cli import main

sys.exit(main())
