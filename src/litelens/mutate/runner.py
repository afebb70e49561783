"""Run cases in worker subprocesses with a time and memory bound; count crashes and hangs.

Each worker (``litelens.mutate.worker``) runs many cases in a row. The parent sends one spec at a time
and waits for its result with a time limit: no answer in time is a ``hang`` (the worker is killed), a
worker that dies mid-case is a ``crash`` (with its signal). Either way a fresh worker takes the
remaining cases. ``workers`` threads drive one worker each.
"""
from __future__ import annotations

import collections
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

# Outcomes that meet the requirement: success, or a clear ModelError / InputError.
GOOD = ("ok", "model_error", "input_error")


@dataclass
class Result:
    spec: dict
    status: str
    stage: str = ""
    message: str = ""
    what: list = field(default_factory=list)
    seconds: float = 0.0
    size: int = 0


@dataclass
class Report:
    results: list[Result]
    seconds: float
    restarts: int = 0

    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(r.status for r in self.results))

    def by_stage(self) -> dict[str, int]:
        return dict(collections.Counter(f"{r.status}@{r.stage}" for r in self.results))

    def failures(self, allow_internal: bool = False) -> list[Result]:
        good = GOOD + (("internal",) if allow_internal else ())
        return [r for r in self.results if r.status not in good]

    def summary(self) -> str:
        counts = self.counts()
        kinds = collections.Counter(r.spec["kind"] for r in self.results)
        lines = [f"{len(self.results)} cases ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}) "
                 f"in {self.seconds:.1f} s, {self.restarts} worker restarts",
                 "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
        stages = self.by_stage()
        lines.append("by stage: " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())))
        for r in self.failures(allow_internal=False)[:30]:
            lines.append(f"  {r.status} {r.spec} {r.stage}: {r.message[:300]} {r.what}")
        return "\n".join(lines)


def _signal_name(code: int) -> str:
    try:
        return f"signal {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


class _Worker:
    def __init__(self, args: list[str], env: dict, ready_timeout: float):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "litelens.mutate.worker", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=env, start_new_session=True)
        self.buffer = b""
        self.eof = False
        line = self.read_line(ready_timeout)
        if line is None or not json.loads(line).get("ready"):
            tail = self.stderr_tail()
            self.kill()
            raise RuntimeError(f"worker did not start: {tail}")

    def read_line(self, timeout: float) -> bytes | None:
        """One line from the worker, or None on timeout (``self.eof`` tells a closed pipe apart)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                self.eof = True
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def send(self, spec: dict) -> bool:
        try:
            self.proc.stdin.write((json.dumps(spec) + "\n").encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def stderr_tail(self, n: int = 800) -> str:
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(size - n, 0))
        return self.stderr.read().decode("utf-8", errors="replace").replace("\n", " | ")

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker's own session: it and its children
            except ProcessLookupError:
                pass
        self.proc.wait()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        self.stderr.close()


def run_cases(specs: list[dict], workers: int = 2, timeout: float = 60.0, memory_mb: int = 3072,
              max_tensor_bytes: int = 256 << 20, official: bool = False, env: dict | None = None,
              ready_timeout: float = 900.0, warm_up: bool = True, fresh_process: bool = False,
              progress=None) -> Report:
    """Run every spec; the returned results are in spec order.

    ``timeout`` bounds each case (a worker warms up first: it runs every seed once, so compiling the
    kernels is not counted against a case; ``ready_timeout`` bounds that). ``memory_mb`` is each
    worker's address-space limit, ``max_tensor_bytes`` the interpreter's cap inside it.
    ``fresh_process`` runs each case in a new worker and counts a signal at its exit as a crash of
    that case (heap corruption is often found only when memory is freed, and would otherwise be
    blamed on a later case).
    """
    args = ["--memory-mb", str(memory_mb), "--max-tensor-bytes", str(max_tensor_bytes)]
    if official:
        args.append("--official")
    if not warm_up:
        args.append("--no-warm-up")
    env = dict(os.environ if env is None else env)
    pending = collections.deque(specs)
    results: dict[int, Result] = {}
    lock = threading.Lock()
    restarts = [0]
    errors: list[BaseException] = []

    def drive():
        worker = None
        try:
            while True:
                with lock:
                    if not pending:
                        break
                    spec = pending.popleft()
                if worker is None:
                    worker = _Worker(args, env, ready_timeout)
                result = None
                if worker.send(spec):
                    line = worker.read_line(timeout)
                    if line is not None:
                        data = json.loads(line)
                        result = Result(spec, data["status"], data.get("stage", ""), data.get("message", ""),
                                        data.get("what", []), data.get("seconds", 0.0), data.get("size", 0))
                if result is None:  # no answer: a crash (the pipe closed) or a hang (still running)
                    if worker.eof:
                        try:
                            worker.proc.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            pass
                    alive = worker.proc.poll() is None
                    worker.kill()
                    code = worker.proc.returncode
                    if alive:
                        result = Result(spec, "hang", message=f"no result within {timeout} s")
                    else:
                        how = _signal_name(code) if code < 0 else f"exit code {code}"
                        result = Result(spec, "crash", message=f"{how}: {worker.stderr_tail()}")
                    worker.stderr.close()
                    worker = None
                    with lock:
                        restarts[0] += 1
                if fresh_process and worker is not None:
                    worker.proc.stdin.close()
                    try:
                        code = worker.proc.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        code = 0
                    if code < 0:
                        result = Result(spec, "crash", message=f"{_signal_name(code)} as the worker exited "
                                        f"after the case ({result.status}): {worker.stderr_tail()}")
                    worker.kill()
                    worker.stderr.close()
                    worker = None
                with lock:
                    results[spec["id"]] = result
                    if progress is not None:
                        progress(result, len(results))
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(err)
        finally:
            if worker is not None:
                worker.close()

    start = time.monotonic()
    threads = [threading.Thread(target=drive, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    ordered = [results[s["id"]] for s in specs if s["id"] in results]
    return Report(ordered, time.monotonic() - start, restarts[0])
