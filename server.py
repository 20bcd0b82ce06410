"""The reward server: ``python server.py --workers 64`` (the same as ``verirl serve``)."""

import sys

from verirl.server import main

if __name__ == "__main__":
    sys.exit(main())
