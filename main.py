"""Gatescope from a checkout: `python main.py [options]` (the same as the `gatescope` command).

The options and commands are parsed in `gatescope.launcher`; see `python main.py --help`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gatescope.launcher import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
