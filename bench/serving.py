"""Mkopo (or a bare yardstick) under gunicorn with sync workers, and concurrent clients to measure it."""

import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def gunicorn(app_path: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """gunicorn -w 2 -k sync serving `app_path` with `env` added to ours, its output (the app's error log
    included) into `log`; returned once it answers."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "sync", "-b",
                                 f"127.0.0.1:{port}", "--log-level", "warning", app_path],
                                cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(600):  # a minute: on a busy machine importing the app takes a while
        if proc.poll() is not None:
            break
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"gunicorn for {app_path} did not start:\n{log.read_text()[-3000:]}")


def stop(*procs: subprocess.Popen | None) -> None:
    """Stop each server started (killing one that does not stop within 10 seconds)."""
    for proc in procs:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def request(port: int, method: str, path: str, headers: dict, body: str | bytes | None = None) -> tuple[int, bytes]:
    """One request on a new connection (sync workers close them): its status and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body, headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def load(send: Callable[[], int], n: int, expected: int, what: str, clients: int = 4) -> float:
    """`n` requests made by `send` (which returns the status) from `clients` threads; requests per second."""
    failures = []

    def worker(share: int):
        for _ in range(share):
            status = send()
            if status != expected:
                failures.append(status)

    threads = [threading.Thread(target=worker, args=(n // clients,)) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} requests to {what} failed: {sorted(set(failures))}")
    return (n // clients * clients) / elapsed
