"""The JSON Schema of workflow documents, generated from the pydantic models of ``dsl.py``.

The shipped ``schema.json`` is this output; ``python -m plait.workflows.schema`` rewrites it after a change to
the models, and ``tests/workflows/test_dsl_validation.py`` fails while the two differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plait.workflows.dsl import WorkflowDoc

SCHEMA_FILE = Path(__file__).with_name("schema.json")
SCHEMA_ID = "https://plait.dev/schemas/workflow-1.json"


def generate() -> dict[str, Any]:
    schema = WorkflowDoc.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def shipped() -> dict[str, Any]:
    """The schema file in the package."""
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
