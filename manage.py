#!/usr/bin/env python
import sys

from bangfu.cli import main

if __name__ == "__main__":
    sys.exit(main())
