"""Resources load lazily and once: importing plait.nlu loads nothing, jieba's dictionary loads once per process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

from plait.nlu import Analyzer, analyze
from plait.nlu import _resources as resources

COLD_PROCESS = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import plait.nlu
    from plait.nlu import _resources

    heavy = [name for name in ("jieba", "opencc", "Stemmer") if name in sys.modules]
    assert heavy == [], heavy
    analyzer = plait.nlu.Analyzer()
    assert analyzer("Running dogs") == ["run", "dog"]
    assert plait.nlu.analyze("Marie Curie")["tokens"]
    assert "jieba" not in sys.modules  # text without Han characters needs no Chinese dictionary
    texts = ["我爱自然语言处理", "李明在北京大学读书"] * 40
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(analyzer, texts))
        list(pool.map(plait.nlu.analyze, texts))
    import jieba
    print(_resources.jieba_loads, jieba.dt.initialized)
    """
)


def test_a_cold_process_imports_nothing_heavy_and_loads_jieba_once_under_threads() -> None:
    done = subprocess.run([sys.executable, "-c", COLD_PROCESS], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True"]
    assert "prefix dict" not in done.stderr  # jieba's loading chatter is silenced


def test_many_threads_in_this_process_share_one_load() -> None:
    analyzer = Analyzer()
    with ThreadPoolExecutor(8) as pool:
        terms = list(pool.map(analyzer, ["我爱自然语言处理"] * 200))
        tokens = list(pool.map(analyze, ["李明在北京大学读书"] * 50))
    assert all(result == terms[0] for result in terms)
    assert all(result == tokens[0] for result in tokens)
    assert resources.jieba_loads == 1
