"""Start the web app: ``riskpool app`` runs Streamlit on this package's page script."""

from __future__ import annotations

import subprocess  # nosec B404 - runs this Python's streamlit module with a fixed argument list
import sys
from pathlib import Path

from ..scenario import MAX_UPLOAD_BYTES

SCRIPT = Path(__file__).with_name("streamlit_app.py")
UPLOAD_LIMIT_MB = max(1, MAX_UPLOAD_BYTES // 2**20)  # Streamlit's own limit, in whole megabytes


def streamlit_command(address: str, port: int) -> list[str]:
    """The Streamlit command line: headless, no usage statistics, no file watcher, small uploads."""
    return [
        sys.executable, "-m", "streamlit", "run", str(SCRIPT),
        "--server.address", address, "--server.port", str(port), "--server.headless", "true",
        "--server.maxUploadSize", str(UPLOAD_LIMIT_MB), "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
    ]


def serve(address: str, port: int) -> int:
    """Run the app until interrupted; returns Streamlit's exit status."""
    print(f"riskpool app: http://{address}:{port}  (Ctrl+C to stop)", flush=True)
    try:
        return subprocess.call(streamlit_command(address, port))  # nosec B603 - no shell, fixed arguments
    except KeyboardInterrupt:
        return 0
