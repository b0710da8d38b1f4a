"""A writer for the durability and concurrency tests: records events and acknowledges each one.

Run as `python -m tests.writer_process FOLDER PREFIX START COUNT`. A line `ack <text>` on stdout
means the event's transaction committed, exactly as a CLI or LSP success would.
"""

from __future__ import annotations

import sys
from pathlib import Path

from msp_server.core.commands import BlockArgs, DecideArgs, UpdateArgs
from msp_server.core.errors import MspError
from msp_server.workspace import Workspace


def main() -> int:
    folder, prefix, start, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ws = Workspace(Path(folder))
    for i in range(start, start + count):
        text = f"{prefix} {i}"
        try:
            if i % 10 == 3:
                ws.decide(DecideArgs(text=text, alternatives=["other"]))
            elif i % 10 == 7:
                ws.block(BlockArgs(text=text))
            else:
                ws.update(UpdateArgs(text=text, progress=i % 101))
        except MspError as exc:
            print(f"error {exc.message}", flush=True)
            return int(exc.exit_code)
        print(f"ack {text}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
