"""``make screenshots``: a PNG per studio page for docs/studio.md, taken from a real server on a temporary data
dir with the scripted models. It seeds an agent (a knowledge base with a document, a client tool), chats with it,
imports the approval workflow and runs it to the end, then saves docs/images/studio-<page>.png at 1280x800.

The chats all happen now; to give the usage chart a week to show, the script moves some of them to earlier days
in the SQLite file before it opens the usage page (the only write that is not through the studio)."""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from live_server import serve
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from plait.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
APPROVAL = ROOT / "examples" / "workflows" / "approval.yaml"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
HANDBOOK = (
    "Holidays: every employee has 25 days of paid leave a year, and the office closes between Christmas and New "
    "Year.\n\nParking is free on level two; bicycles go in the courtyard.\n\nExpenses are refunded within ten "
    "days when the receipt is uploaded to the expenses page."
)
DAY = 86_400
MORE_FILES = {  # uploaded through the page, two at once
    "parking.md": "# Parking\n\nCars park on level two. Bicycles park in the courtyard, by the north door.",
    "canteen.txt": "The canteen opens at noon; soup on Fridays, and the coffee is free all day.",
}


def _text_file(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "text/plain", "buffer": text.encode()}


def _ok(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()


def _turn(api: httpx.Client, agent_id: str, message: str) -> None:
    with api.stream("POST", f"/agents/{agent_id}/chat", json={"message": message}) as response:
        response.raise_for_status()
        response.read()


def _wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: {what} did not happen in time")
        time.sleep(0.1)


def seed(api: httpx.Client) -> dict[str, str]:
    """What the pages show: two agents with chats, a base with a ready document, a finished workflow run."""
    dataset = _ok(api.post("/datasets", json={"name": "Handbook", "description": "The staff handbook"}))
    files = {"file": ("handbook.txt", HANDBOOK.encode(), "text/plain")}
    _ok(api.post("/documents/upload", params={"dataset_id": dataset["id"]}, files=files))
    documents = f"/datasets/{dataset['id']}/documents"
    _wait(lambda: _ok(api.get(documents))["items"][0]["status"] == "ready", "the document's ingestion")

    helper = _ok(api.post("/agents", json={"name": "Office helper", "model_id": "scripted/tools"}))
    draft = helper["draft"] | {
        "description": "Answers questions about the office from the handbook",
        "persona": "You help the staff of {{office}} with questions about the office.",
        "knowledge": {"dataset_ids": [dataset["id"]], "auto_call": True, "search_strategy": 0},
        "variables": [{"keyword": "office", "default_value": "Lisbon", "description": "", "enabled": True}],
        "client_tools": [{"name": "get_location", "description": "Where the user is now"}],
        "prologue": "Hello! Ask me about holidays, parking or expenses.",
        "suggested_questions": ["How many days of leave do I have?", "Where can I park?"],
    }
    _ok(api.put(f"/agents/{helper['id']}", json=draft))
    _ok(api.post(f"/agents/{helper['id']}/publish"))
    writer = _ok(api.post("/agents", json={"name": "Release notes writer", "model_id": "scripted/echo"}))
    for agent, count in ((helper, 9), (writer, 14)):
        for n in range(count):
            _turn(api, agent["id"], " ".join(["word"] * (5 + 7 * n % 23)))

    workflow = _ok(api.post("/workflows/import", json={"text": APPROVAL.read_text(encoding="utf-8")}))
    for name in ("batch_summary", "classify_route", "rag_qa"):
        text = (APPROVAL.parent / f"{name}.yaml").read_text(encoding="utf-8")
        api.post("/workflows/import", json={"text": text})  # for the list; one this server refuses is left out
    runs = f"/workflows/{workflow['id']}/runs"
    run = _ok(api.post(runs, json={"inputs": {"request": "a standing desk for Ana"}}))
    _wait(lambda: _ok(api.get(f"{runs}/{run['id']}"))["status"] == "interrupted", "the workflow's question")
    event_id = _ok(api.get(f"{runs}/{run['id']}"))["question"]["event_id"]
    _ok(api.post(f"{runs}/{run['id']}/answer", json={"event_id": event_id, "answer": "yes"}))
    _wait(lambda: _ok(api.get(f"{runs}/{run['id']}"))["status"] == "success", "the workflow's end")
    return {"agent": helper["id"], "dataset": dataset["id"], "workflow": workflow["id"]}


def spread_over_the_week(data_dir: Path) -> None:
    """Move every other chat back by 1 to 6 days, so the usage chart has a week to draw."""
    with sqlite3.connect(data_dir / "plait.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM chats ORDER BY id")]
        for index, chat_id in enumerate(ids):
            db.execute("UPDATE chats SET created_at = created_at - ? WHERE id = ?", ((index * 5 % 7) * DAY, chat_id))


def shoot(page: Page, name: str) -> None:
    page.wait_for_timeout(300)  # the toast and focus rings settle
    page.screenshot(path=str(IMAGES / f"studio-{name}.png"))
    print(f"wrote docs/images/studio-{name}.png")


def take(base_url: str, ids: dict[str, str], data_dir: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-GB").new_page()
        page.set_default_timeout(15_000)
        page.goto("/#agents")
        expect(page.get_by_role("row").filter(has_text="Office helper")).to_be_visible()
        shoot(page, "agents")

        page.goto(f"/#agent/{ids['agent']}")
        page.get_by_label("Message", exact=True).fill("Where can I park my bicycle?")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("[data-status=completed]")).to_be_visible()
        page.get_by_label("Message", exact=True).fill("call get_location {}")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("The agent waits for you:")).to_be_visible()
        page.get_by_label("Output").fill("Lisbon office, floor 2")
        page.get_by_text(re.compile(r"^Knowledge used")).first.click()  # the chunks the parking answer was given
        page.locator(".msg.knowledge").first.evaluate('el => el.scrollIntoView({block: "start"})')
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, "playground")

        page.goto(f"/#dataset/{ids['dataset']}")
        expect(page.locator("[data-status=ready]")).to_be_visible()
        page.get_by_label("Files").set_input_files([_text_file(name, text) for name, text in MORE_FILES.items()])
        page.get_by_role("button", name="Upload", exact=True).click()  # each file its own request, bar and status
        for name in MORE_FILES:
            expect(page.locator(".uploads li").filter(has_text=name).locator("[data-status=ready]")).to_be_visible()
        page.get_by_role("button", name="handbook.txt").click()  # its chunks
        expect(page.locator(".chunk").first).to_be_visible()
        shoot(page, "knowledge")
        page.get_by_label("Query").fill("where to park a bicycle")
        page.get_by_role("button", name="Search").click()
        expect(page.locator(".hit-column .hit")).not_to_have_count(0)
        page.get_by_role("heading", name="Hit testing").evaluate('el => el.scrollIntoView({block: "start"})')
        shoot(page, "hit-test")

        page.goto(f"/#workflow/{ids['workflow']}")
        page.get_by_role("button", name=re.compile("^Show the run of")).first.click()
        expect(page.locator(".status-line [data-status=success]")).to_be_visible()
        page.locator("[data-node=ask]").click()
        page.get_by_role("heading", name="Graph").scroll_into_view_if_needed()
        shoot(page, "workflows")

        page.goto("/#settings")
        expect(page.get_by_role("heading", name="API keys")).to_be_visible()
        shoot(page, "settings")

        spread_over_the_week(data_dir)
        page.goto("/#usage")
        page.get_by_label("Period").select_option("7")
        expect(page.get_by_role("img", name="Tokens per day over 7 days, by agent")).to_be_visible()
        shoot(page, "usage")
        browser.close()


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plait-screenshots-") as folder:
        data_dir = Path(folder)
        settings = Settings.load(data_dir=data_dir, database_url="", embedder="hashing")
        with serve(settings) as base_url:
            with httpx.Client(base_url=base_url + "/api/studio", headers={"x-plait-studio": "1"}, timeout=60) as api:
                ids = seed(api)
            take(base_url, ids, data_dir)
    print(json.dumps({"images": sorted(p.name for p in IMAGES.glob("studio-*.png"))}))


if __name__ == "__main__":
    main()
