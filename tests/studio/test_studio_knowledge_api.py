"""The Knowledge page's endpoints on a real server, on SQLite and on the machine's PostgreSQL: several files
uploaded one request each (a bad one fails alone), a document's chunks paged in position order, hit testing by
each search strategy with its scores; unknown or foreign ids are 404 / 4200 and bad paging 400 / 4000, as
/openapi.json documents."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import serve
from studio_data import ready
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.settings import Settings

STUDIO = {"x-plait-studio": "1"}
TOPICS = ["holidays", "parking", "expenses", "laptops", "security", "travel", "canteen", "training"]
HANDBOOK = "\n\n".join(
    f"Section {n} is about {topic}. "
    + " ".join(f"Rule {n}.{i}: the {topic} rule number {i} applies." for i in range(12))
    for n, topic in enumerate(TOPICS)
)


@dataclass(frozen=True)
class Studio:
    api: httpx.Client  # the loopback owner
    base_url: str
    make_key: Callable[..., str]  # ``plait keys create`` options -> token


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def studio(
    request: pytest.FixtureRequest, new_pg_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    data_dir: Path = tmp_path_factory.mktemp(f"studio-kb-{request.param}")
    database_url = new_pg_database() if request.param == "postgresql" else ""
    settings = Settings.load(data_dir=data_dir, database_url=database_url, embedder="hashing", auth_cache_seconds=0)
    env = {"PLAIT_DATA_DIR": str(data_dir), "PLAIT_DATABASE_URL": database_url}

    def make_key(*options: str) -> str:
        result = CliRunner().invoke(cli, ["keys", "create", *options], env=env)
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    with serve(settings) as url, httpx.Client(base_url=url + "/api/studio", headers=STUDIO, timeout=30) as api:
        yield Studio(api=api, base_url=url, make_key=make_key)


@pytest.fixture(scope="module")
def handbook(studio: Studio) -> dict[str, Any]:
    """A dataset holding HANDBOOK as one ingested document: {"dataset": id, "document": the document}."""
    api = studio.api
    dataset_id = api.post("/datasets", json={"name": "Handbook"}).json()["id"]
    files = {"file": ("handbook.txt", HANDBOOK.encode(), "text/plain")}
    assert api.post("/documents/upload", params={"dataset_id": dataset_id}, files=files).status_code == 201
    document = ready(api, dataset_id)
    assert document["status"] == "ready" and document["chunks"] >= 3, document
    return {"dataset": dataset_id, "document": document}


def _code(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


def test_a_documents_chunks_come_in_position_order_page_by_page(studio: Studio, handbook: dict[str, Any]) -> None:
    path = f"/datasets/{handbook['dataset']}/documents/{handbook['document']['id']}/chunks"
    seen: list[dict[str, Any]] = []
    page_num = 1
    while True:
        response = studio.api.get(path, params={"page_num": page_num, "page_size": 2})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == handbook["document"]["chunks"] and len(page["items"]) <= 2
        seen.extend(page["items"])
        if not page["has_more"]:
            break
        page_num += 1
    assert [chunk["position"] for chunk in seen] == list(range(handbook["document"]["chunks"]))
    assert all(chunk["chars"] == len(chunk["content"]) > 0 for chunk in seen)
    assert len({chunk["id"] for chunk in seen}) == len(seen)
    assert seen[0]["content"].startswith("Section 0 is about holidays")
    assert "Section 7 is about training" in seen[-1]["content"]
    whole = studio.api.get(path).json()  # 20 a page by default
    assert [chunk["id"] for chunk in whole["items"]] == [chunk["id"] for chunk in seen] and not whole["has_more"]
    past = studio.api.get(path, params={"page_num": 99}).json()
    assert past["items"] == [] and past["total"] == len(seen) and not past["has_more"]


def test_unknown_or_foreign_chunks_are_404_and_bad_paging_400(studio: Studio, handbook: dict[str, Any]) -> None:
    api, dataset_id, document_id = studio.api, handbook["dataset"], handbook["document"]["id"]
    other = api.post("/datasets", json={"name": "Another"}).json()["id"]
    for path in (
        f"/datasets/1/documents/{document_id}/chunks",
        f"/datasets/{dataset_id}/documents/1/chunks",
        f"/datasets/{other}/documents/{document_id}/chunks",  # a document of another dataset
    ):
        assert _code(api.get(path)) == (404, 4200), path
    path = f"/datasets/{dataset_id}/documents/{document_id}/chunks"
    for params in ({"page_num": 0}, {"page_num": "x"}, {"page_size": 0}, {"page_size": 101}, {"page_size": "1.5"}):
        assert _code(api.get(path, params=params)) == (400, 4000), params
    token = studio.make_key("--workspace", "Knowledge elsewhere")
    with httpx.Client(base_url=api.base_url, headers={"authorization": f"Bearer {token}"}, timeout=30) as foreign:
        answer = foreign.get(path)
        assert _code(answer) == (404, 4200) and "Section" not in answer.text
    viewer = studio.make_key("--user", "kb-viewer", "--role", "viewer")
    with httpx.Client(base_url=api.base_url, headers={"authorization": f"Bearer {viewer}"}, timeout=30) as reader:
        assert reader.get(path).status_code == 200  # reading chunks changes nothing


def test_several_files_upload_one_request_each_and_a_bad_one_fails_alone(studio: Studio) -> None:
    api = studio.api
    dataset_id = api.post("/datasets", json={"name": "Several"}).json()["id"]
    sent = {
        "a.txt": b"Apples are stored in the cold room.",
        "b.md": b"# Pears\n\nPears ripen on the windowsill.",
        "c.json": b'{"broken": ',  # accepted, then fails in ingestion
    }
    answers = {
        name: api.post("/documents/upload", params={"dataset_id": dataset_id}, files={"file": (name, data)})
        for name, data in sent.items()
    }
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(sent, 201)
    documents = {d["name"]: d for d in _settled(api, dataset_id, len(sent))}
    assert documents["a.txt"]["status"] == documents["b.md"]["status"] == "ready"
    assert documents["c.json"]["status"] == "failed" and documents["c.json"]["error"]
    assert documents["c.json"]["chunks"] == 0
    failed = f"/datasets/{dataset_id}/documents/{documents['c.json']['id']}/chunks"
    assert api.get(failed).json() == {"items": [], "total": 0, "has_more": False}


def _settled(api: httpx.Client, dataset_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        items: list[dict[str, Any]] = api.get(f"/datasets/{dataset_id}/documents").json()["items"]
        if len(items) == count and all(item["status"] != "processing" for item in items):
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("strategy", "main", "names"),
    [(0, "hybrid", {"hybrid", "bm25", "vector"}), (1, "vector", {"vector"}), (20, "bm25", {"bm25"})],
)
def test_hit_testing_by_each_strategy_shows_its_scores(
    studio: Studio, handbook: dict[str, Any], strategy: int, main: str, names: set[str]
) -> None:
    body = {"query": "parking rule", "top_k": 3, "search_strategy": strategy}
    answer = studio.api.post(f"/datasets/{handbook['dataset']}/hit_test", json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["search_strategy"] == strategy and 1 <= len(found["items"]) <= 3
    scores = [hit["score"] for hit in found["items"]]
    assert scores == sorted(scores, reverse=True)
    for hit in found["items"]:
        assert main in hit["scores"] and set(hit["scores"]) <= names and hit["scores"][main] == hit["score"]
        assert hit["document_id"] == handbook["document"]["id"] and hit["chunk_id"].startswith(hit["document_id"])
    if strategy == 20:
        assert "parking" in found["items"][0]["content"]


def test_hit_testing_refuses_an_unknown_strategy(studio: Studio, handbook: dict[str, Any]) -> None:
    path = f"/datasets/{handbook['dataset']}/hit_test"
    for strategy in (2, -1, "x"):
        answer = studio.api.post(path, json={"query": "parking", "search_strategy": strategy})
        assert _code(answer) == (400, 4000), strategy


def test_the_chunks_route_is_documented_with_its_paging_and_error_answers(studio: Studio) -> None:
    paths = httpx.get(f"{studio.base_url}/openapi.json").json()["paths"]
    operation = paths["/api/studio/datasets/{dataset_id}/documents/{document_id}/chunks"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {"dataset_id", "document_id", "page_num", "page_size"}
    assert {"200", "400", "401", "403", "404"} <= operation["responses"].keys() and "422" not in operation["responses"]
    error = operation["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}
