"""`python -m msp_server` starts the language server, as editors launch it (without importing
the command line's modules: start-up time is the editor's wait)."""

import sys

from msp_server.lsp.server import run

sys.exit(run())
