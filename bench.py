#!/usr/bin/env python3
"""ganbench command line (a thin shim; the installed `ganbench` command is the same)."""
import sys

from ganbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
