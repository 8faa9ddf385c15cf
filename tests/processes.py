"""Helpers for tests that run the service as real processes (gunicorn, flask, the stream server)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen, timeout: float) -> None:
    """Ask a server started with ``start_new_session=True`` to stop (SIGTERM); kill its whole
    process group (workers included) if it has not stopped within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
