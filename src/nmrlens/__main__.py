"""``python -m nmrlens`` runs the command line."""

import sys

from nmrlens.cli.main import main

sys.exit(main())
