"""The official interpreter in a child process: an abort in its kernels becomes a report, not a crash.

    with OfficialWorker() as worker:
        run = worker.run(model_content, {0: x}, "reference")   # an OfficialRun
        if run.crashed: ...                                    # e.g. "killed by SIGABRT: ..."

The child (``python -m litelens.diff.worker LOGFILE``) is started on first use, serves runs until
closed, and is restarted after a crash or a timeout. Requests and answers are pickled frames on its
stdin/stdout; its own stdout/stderr (the official runtime's log lines and abort messages) go to a
temporary file, whose end is quoted when the child dies. A plain subprocess (not multiprocessing), so
callers need no ``if __name__ == "__main__"`` guard.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile

from litelens.diff.official_run import OfficialRun

DEFAULT_TIMEOUT = 120.0
_HEADER = struct.Struct("<Q")


def _read_exact(stream, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the child closed its pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _serve(log_path: str) -> None:
    """Child main loop: (model, inputs, resolver, detect_unwritten) in, OfficialRun out; None stops."""
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    from litelens.diff.official_run import run_official_kept

    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(requests, _HEADER.size))
            message = pickle.loads(_read_exact(requests, size))
        except EOFError:
            return
        if message is None:
            return
        os.ftruncate(log, 0)
        os.lseek(log, 0, os.SEEK_SET)
        payload = pickle.dumps(run_official_kept(*message), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(_HEADER.pack(len(payload)) + payload)
        answers.flush()


def describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class OfficialWorker:
    """A reusable child process running :func:`litelens.diff.official_run.run_official_kept`."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        self.timeout = timeout
        self._process: subprocess.Popen | None = None
        self._log_path: str | None = None
        self.restarts = 0

    def __enter__(self) -> "OfficialWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        fd, self._log_path = tempfile.mkstemp(prefix="litelens-official-", suffix=".log")
        os.close(fd)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
        self._process = subprocess.Popen([sys.executable, "-m", "litelens.diff.worker", self._log_path],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def _log_tail(self, limit: int = 1500) -> str:
        try:
            with open(self._log_path, "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except (OSError, TypeError):
            return ""
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("INFO:")]
        return "\n".join(lines)[-limit:]

    def _discard(self) -> None:
        """Forget the child (killing it if it still runs); the next run starts a new one."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            for stream in (process.stdin, process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        if self._log_path:
            try:
                os.unlink(self._log_path)
            except OSError:
                pass
        self._log_path = None

    def run(self, model_content: bytes, inputs: dict, resolver: str = "reference",
            detect_unwritten: bool = True) -> OfficialRun:
        if self._process is None or self._process.poll() is not None:
            if self._process is not None:
                self._discard()
            self._start()
        process = self._process
        payload = pickle.dumps((bytes(model_content), dict(inputs), resolver, detect_unwritten),
                               protocol=pickle.HIGHEST_PROTOCOL)
        try:
            process.stdin.write(_HEADER.pack(len(payload)) + payload)
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], self.timeout)
            if ready:
                (size,) = _HEADER.unpack(_read_exact(process.stdout, _HEADER.size))
                return pickle.loads(_read_exact(process.stdout, size))
            crashed = f"no answer within {self.timeout:.0f} s (killed)"
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            crashed = describe_exit(process.returncode)
        tail = self._log_tail()
        self._discard()
        self.restarts += 1
        return OfficialRun(resolver, crashed=crashed + (f": {tail}" if tail else ""))

    def close(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            try:
                payload = pickle.dumps(None)
                process.stdin.write(_HEADER.pack(len(payload)) + payload)
                process.stdin.flush()
                process.wait(5)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                pass
        self._discard()


if __name__ == "__main__":
    _serve(sys.argv[1])
