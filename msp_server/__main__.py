"""`python -m msp_server` starts the language server, as editors launch it."""

import sys

from msp_server.cli import server_main

sys.exit(server_main())
