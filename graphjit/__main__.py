"""``python -m graphjit``: the same as the ``graphjit`` command."""

import sys

from graphjit.cli import main

sys.exit(main())
