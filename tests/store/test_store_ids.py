from __future__ import annotations

import threading

import pytest

from plait.store.ids import MAX_WORKER, IdGenerator, new_id


def test_ids_are_19_digit_numeric_strings() -> None:
    value = new_id()
    assert len(value) == 19
    assert value.isdigit()


def test_ids_strictly_increase_as_numbers_and_as_strings() -> None:
    generate = IdGenerator(worker=3)
    ids = [generate() for _ in range(20_000)]  # several thousand per millisecond: the sequence wraps
    assert ids == sorted(ids)
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_ids_are_unique_under_concurrency() -> None:
    generate = IdGenerator(worker=7)
    per_thread: list[list[str]] = [[] for _ in range(8)]

    def work(out: list[str]) -> None:
        out.extend(generate() for _ in range(5_000))

    threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for out in per_thread for i in out]
    assert len(set(everything)) == len(everything) == 40_000
    for out in per_thread:
        assert out == sorted(out)  # each thread sees increasing ids


def test_workers_never_collide() -> None:
    a, b = IdGenerator(worker=1), IdGenerator(worker=2)
    assert not {a() for _ in range(5_000)} & {b() for _ in range(5_000)}


def test_worker_out_of_range() -> None:
    with pytest.raises(ValueError, match="worker"):
        IdGenerator(worker=MAX_WORKER + 1)
