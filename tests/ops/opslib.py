"""Helpers of the operations tests: processes, free ports, HTTP JSON, polling with deadlines.

Standard library only (plus python3-yaml where a test needs YAML)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Failure(Exception):
    """A check failed; the message says what, where and why."""


def log(*args):
    print(*args, flush=True)


def free_port():
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_temp_dir(parent, prefix):
    if parent:
        os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=parent or None)


def wait_until(what, predicate, timeout, interval=0.2):
    """Polls `predicate` until it returns a truthy value or `timeout` seconds pass.
    The predicate may raise Failure or OSError while the system is not up yet."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (Failure, OSError, ValueError) as e:
            last = e
        if time.monotonic() >= deadline:
            raise Failure(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last})" if last else ""))
        time.sleep(interval)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8", "replace")


def http_json(url, data=None, timeout=10):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        # Prometheus answers 400/422 with a JSON error body.
        try:
            return json.loads(e.read().decode())
        except ValueError:
            raise Failure(f"{url}: HTTP {e.code}")


class Process:
    """A child process whose stdout lines are collected by a thread (so it never blocks on
    a full pipe) and whose stderr goes to a file. Stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name, argv, log_path, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.lines = []
        self._lock = threading.Lock()
        self._err = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._err, cwd=cwd,
                                     stdin=subprocess.DEVNULL)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self._lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def stdout(self):
        with self._lock:
            return list(self.lines)

    def alive(self):
        return self.proc.poll() is None

    def tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def check_alive(self):
        if not self.alive():
            raise Failure(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")

    def stop(self, timeout=20):
        """SIGTERM and wait; returns (exit code, seconds it took), killing it after `timeout`."""
        if not self.alive():
            self._err.close()
            return self.proc.returncode, 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._err.close()
        return code, time.monotonic() - started


def main_wrapper(run):
    """Runs `run()`; prints a Failure's message and exits 1, so ctest shows why."""
    try:
        run()
    except Failure as e:
        log(f"FAILED: {e}")
        sys.exit(1)
    log("OK")
