"""Placeholder until the language server issue lands: say so clearly, never pretend."""

import sys


def run() -> int:
    print(
        "msp-server: the language server is not available yet in this version; "
        "use the `msp` command line meanwhile.",
        file=sys.stderr,
    )
    return 3
