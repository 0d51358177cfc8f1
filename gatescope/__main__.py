"""`python -m gatescope`: the same as the `gatescope` command."""
import sys

from gatescope.launcher import main

sys.exit(main())
