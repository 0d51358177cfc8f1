"""`python -m core.sweep …`: the training sweep from a checkout (see `core.cli.sweep`)."""
import sys

from .cli.sweep import main

if __name__ == "__main__":
    sys.exit(main())
