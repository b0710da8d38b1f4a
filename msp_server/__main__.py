"""`python -m msp_server` starts the language server, as editors launch it (without importing
the command line's modules: start-up time is the editor's wait).

An editor may start it with the opened folder as the working directory, and `-m` puts that
directory first on `sys.path`: a cloned repository's `pydantic.py` (or `typing.py`) would then
run inside the server. So the working directory's entry goes before anything else is imported.
"""

from msp_server.safepath import drop_cwd_from_path

drop_cwd_from_path()

import sys  # noqa: E402 (after the sys.path fix, on purpose)

from msp_server.lsp.server import run  # noqa: E402

sys.exit(run())
