"""Schemathesis over ``/openapi.json`` of a real ``plait serve``, every check on, a bounded count of cases (the
full run is ``fuzzing.py`` as a script, docs/operations.md "Proof"): no 5xx, every answer as documented. And
what longer runs found, kept fixed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fuzzing import Served, fuzz, make_key, plait_serve, seed_resources

CI_EXAMPLES = 2  # per operation and phase: about 5,000 cases, 80 s here
HUGE = str(10**22)  # past a 64-bit integer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with plait_serve(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.mark.timeout(240)
def test_the_schema_holds_for_generated_requests(served: Served, tmp_path: Path) -> None:
    outcome = fuzz(served, make_key(served), tmp_path, max_examples=CI_EXAMPLES, seed=1)
    assert outcome.cases > 300, outcome.output[-3000:]
    assert outcome.server_errors == 0, outcome.summary()
    assert not outcome.failures, outcome.summary()


def test_a_page_past_any_integer_is_an_empty_page(served: Served) -> None:
    token = make_key(served)
    ids = seed_resources(served.base_url, token)
    space, workflow = ids["space"][0], ids["workflow"][0]
    with httpx.Client(base_url=served.base_url, headers={"authorization": f"Bearer {token}"}) as http:
        pages = [
            http.get("/v1/datasets", params={"space_id": space, "page_num": HUGE, "page_size": 7}),
            http.get("/api/studio/datasets", params={"page_num": HUGE}),
            http.get("/v1/workspaces", params={"page_num": HUGE}),
            http.get(f"/v1/workflows/{workflow}/versions", params={"page_token": HUGE}),
            http.get(f"/api/studio/workflows/{workflow}/runs", params={"page_num": HUGE}),
            http.get("/api/studio/audit", params={"page_num": HUGE}),
        ]
    assert [page.status_code for page in pages] == [200] * len(pages), [page.text[:200] for page in pages]
