"""Schemathesis over ``/openapi.json`` of a real ``plait serve``, every check on, a bounded count of cases (the
full run is ``fuzzing.py`` as a script, docs/operations.md "Proof"): no 5xx, every answer as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzzing import fuzz, make_key, plait_serve

CI_EXAMPLES = 2  # per operation and phase: about 5,000 cases, 80 s here
# Known and not yet fixed: the studio's workflow export answers a YAML file its route does not declare.
KNOWN = {("GET /api/studio/workflows/{workflow_id}/export", "ST105")}


@pytest.mark.timeout(240)
def test_the_schema_holds_for_generated_requests(tmp_path: Path) -> None:
    with plait_serve(tmp_path) as served:
        outcome = fuzz(served, make_key(served), tmp_path, max_examples=CI_EXAMPLES, seed=1)
    assert outcome.cases > 300, outcome.output[-3000:]
    assert outcome.server_errors == 0, outcome.summary()
    assert {(operation, code) for operation, code, _ in outcome.failures} <= KNOWN, outcome.summary()
