"""Data the studio tests make through ``/api/studio`` (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import time
from typing import Any

import httpx


def ready(api: httpx.Client, dataset_id: str) -> dict[str, Any]:
    """The dataset's one document, once it is no longer processing."""
    deadline = time.monotonic() + 30
    while True:
        (document,) = api.get(f"/datasets/{dataset_id}/documents").json()["items"]
        if document["status"] != "processing":
            return dict(document)
        assert time.monotonic() < deadline, "the document was not ingested"
        time.sleep(0.1)


def dataset_with(api: httpx.Client, name: str, filename: str, text: str) -> str:
    """A new dataset holding ``text`` as one ingested document."""
    dataset_id = str(api.post("/datasets", json={"name": name}).json()["id"])
    files = {"file": (filename, text.encode(), "text/plain")}
    assert api.post("/documents/upload", params={"dataset_id": dataset_id}, files=files).status_code == 201
    assert ready(api, dataset_id)["status"] == "ready"
    return dataset_id
