"""What the benches share about the processes they start (servers in a session of their own)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop(proc: subprocess.Popen) -> None:
    """Stop a process started with ``start_new_session=True`` and everything it started: SIGTERM to its group,
    SIGKILL after 30 s; a group already gone is fine."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
