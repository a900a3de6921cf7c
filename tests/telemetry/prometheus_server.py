"""A throwaway Prometheus server (Debian's binary) on a free loopback port.

Like tests/pg_server.py for PostgreSQL: its own config file and storage directory in a
temporary folder, started and stopped by the test; the Debian service is never used.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """``prometheus`` scraping ``jobs`` (name -> (host:port, bearer token)) every second."""

    def __init__(self, binary: str, jobs: dict[str, tuple[str, str]]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="auterity-prom-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": name,
                    "metrics_path": "/metrics",
                    "authorization": {"type": "Bearer", "credentials": token},
                    "static_configs": [{"targets": [target]}],
                }
                for name, (target, token) in jobs.items()
            ],
        }
        (self.root / "prometheus.yml").write_text(yaml.safe_dump(config), "utf-8")
        self.log = (self.root / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.root / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.logs()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready within 60 s: {self.logs()}")

    def logs(self) -> str:
        self.log.flush()
        return (self.root / "prometheus.log").read_text("utf-8", errors="replace")[-2000:]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (empty when nothing matches yet)."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        answer.raise_for_status()
        body = answer.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
