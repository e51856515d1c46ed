"""Time-ordered 19-digit numeric string ids, the shape Coze clients expect (``"7351234567890123456"``).

Layout of the 63-bit integer: milliseconds since the unix epoch << 22 | worker (10 bits) << 12 | sequence
(12 bits). Ids from one generator strictly increase; ids from different workers stay unique as long as workers
differ. Rendered zero-padded to 19 digits, so string order equals numeric order (valid until 2045).

A process that opens the platform's database claims a worker slot there (``plait.platform.presence``) and
rebinds the process-wide generator to it, so ids are unique across every process and host of one database.
Until then the generator uses a worker derived from the process id: unique enough for tests and tools that
write nothing shared.
"""

from __future__ import annotations

import os
import threading
import time

WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1
_MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class IdGenerator:
    """Thread-safe snowflake-like generator; a clock that steps back reuses the last millisecond."""

    def __init__(self, worker: int) -> None:
        if not 0 <= worker <= MAX_WORKER:
            raise ValueError(f"worker must be in 0..{MAX_WORKER}, got {worker}")
        self._worker = worker
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def next_int(self) -> int:
        with self._lock:
            ms = max(time.time_ns() // 1_000_000, self._last_ms)
            if ms == self._last_ms:
                self._sequence = (self._sequence + 1) & _MAX_SEQUENCE
                if self._sequence == 0:  # 4096 ids in this millisecond: borrow the next one
                    ms += 1
            else:
                self._sequence = 0
            self._last_ms = ms
            return ms << (WORKER_BITS + SEQUENCE_BITS) | self._worker << SEQUENCE_BITS | self._sequence

    def __call__(self) -> str:
        return f"{self.next_int():019d}"

    @property
    def worker(self) -> int:
        return self._worker

    def rebind(self, worker: int) -> None:
        """Generate as ``worker`` from now on; the clock and sequence carry over, so ids keep increasing."""
        if not 0 <= worker <= MAX_WORKER:
            raise ValueError(f"worker must be in 0..{MAX_WORKER}, got {worker}")
        with self._lock:
            self._worker = worker


def _default_worker() -> int:
    """``PLAIT_WORKER_ID`` when set; otherwise the process id, so forked server workers differ."""
    return int(os.environ.get("PLAIT_WORKER_ID") or os.getpid()) & MAX_WORKER


new_id = IdGenerator(_default_worker())
"""The process-wide generator the models use for primary keys."""
