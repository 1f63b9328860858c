"""Start the web app: ``riskpool app`` runs Streamlit on this package's page script."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..scenario import MAX_UPLOAD_BYTES

SCRIPT = Path(__file__).with_name("streamlit_app.py")
UPLOAD_LIMIT_MB = max(1, MAX_UPLOAD_BYTES // 2**20)  # Streamlit's own limit, in whole megabytes


def streamlit_command(address: str, port: int, script: Path = SCRIPT) -> list[str]:
    """The Streamlit command line: headless, no usage statistics, no file watcher, small uploads,
    and no developer menu."""
    return [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address", address, "--server.port", str(port), "--server.headless", "true",
        "--server.maxUploadSize", str(UPLOAD_LIMIT_MB), "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
    ]


def serve(address: str, port: int) -> int:
    """Run the app until interrupted or terminated; returns Streamlit's exit status (0 when stopped).

    A termination signal stops Streamlit too (terminated, then killed if it does not stop within
    10 s): without it, a service manager or a test that stops ``riskpool app`` would leave the
    server running on its port. The signal is caught before Streamlit starts, so none is missed."""
    print(f"riskpool app: http://{address}:{port}  (Ctrl+C to stop)", flush=True)
    asked: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: asked.append(signum))
    child = None
    try:
        # no shell, and the arguments are this Python and fixed options
        child = subprocess.Popen(streamlit_command(address, port))  # nosec B603
        while not asked:
            try:
                code = child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
            return code if code >= 0 else 128 - code  # killed by signal n: 128 + n, as a shell says
        stop(child)
        return 0
    except KeyboardInterrupt:  # Ctrl+C reached Streamlit too, in the same process group
        if child is not None:
            stop(child)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(port: int, script: Path = SCRIPT, cwd: Path | None = None) -> subprocess.Popen:
    """Start the app on 127.0.0.1:``port`` in the background (tests and the screenshot script)."""
    command = streamlit_command("127.0.0.1", port, script)  # fixed options; the script is ours or the caller's
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # nosec B603


def wait_ready(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    """Wait until Streamlit's health endpoint answers ``ok``; raise if the server dies or is slow."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            # an http URL on 127.0.0.1 that this module started, not user input
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:  # nosec B310
                if reply.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {seconds:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
