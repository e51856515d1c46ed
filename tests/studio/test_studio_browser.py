"""The studio in Debian's Chromium, driven by Playwright as a newcomer would use it: create an agent, chat with
it (tokens streaming in) and stop it, start a new conversation, publish; see the knowledge a turn used; open an
earlier conversation and go on; approve and reject a tool call the agent paused on; upload three files at once
(two ready, one failed), read a document's chunks, hit-test with BM25, vectors and both side by side; switch to
Chinese and find the choice remembered; import a workflow, run it and answer its question; see a typo pinned to
its node; read usage as a chart; find a key made in Settings in its audit log; add a member, give them a key,
change their role and remove them (the key stops at once). Every step waits for what the page shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from studio_data import dataset_with

CHROMIUM = "/usr/bin/chromium"  # installed by `make setup`
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
APPROVAL = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "approval.yaml"
DROP = """(form, [name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type: "text/plain" }));
  form.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""  # what a drop of a file from the desktop on the panel sends


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh profile each test (nothing remembered), on the loopback server: signed in as its owner."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/")
    expect(page.get_by_role("navigation")).to_be_visible()
    yield page
    context.close()


def test_create_an_agent_chat_with_streaming_stop_and_publish(page: Page, slow_model: str) -> None:
    page.get_by_label("Name", exact=True).fill("Travel helper")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Travel helper")
    page.get_by_label("Model", exact=True).fill(slow_model)
    page.get_by_label("Opening message").fill("Where to?")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    log = page.get_by_role("log")
    expect(log).to_contain_text("Where to?")  # the saved opening message starts the conversation

    words = " ".join(f"w{i}" for i in range(100))  # 100 words at 100 ms each: ten seconds if nobody stops it
    page.get_by_label("Message", exact=True).fill(words)
    page.get_by_label("Message", exact=True).press("Enter")
    answer = log.locator(".msg.assistant").last
    expect(answer).to_contain_text("w0 w1 w2")  # streamed in, long before the answer ends
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("[data-status=canceled]")).to_have_text("Stopped")
    assert "w99" not in answer.inner_text()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()

    page.get_by_role("button", name="New conversation").click()
    expect(log.locator(".msg.user")).to_have_count(0)
    page.get_by_label("Message", exact=True).fill("hello again")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-status=completed]")).to_be_visible()
    expect(log.locator(".msg.assistant").last).to_have_text("hello again")

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version history (1)")).to_be_visible()
    page.get_by_role("link", name="Agents", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="Travel helper")).to_contain_text("Published")


def test_publish_twice_and_read_the_differences_of_the_two_versions(page: Page, api: httpx.Client) -> None:
    workflow = api.post("/workflows/import", json={"text": APPROVAL.read_text()}).json()["id"]
    page.get_by_label("Name", exact=True).fill("Diffed")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Diffed")
    page.get_by_label("Model", exact=True).fill("scripted/echo")
    page.get_by_label("Persona and instructions").fill("Answer briefly.\nBe kind.")
    page.get_by_label("Temperature").fill("0.2")
    page.get_by_label("How to search").select_option(label="Full text (BM25 keywords)")
    page.get_by_label("calculator").check()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version history (1)")).to_be_visible()
    page.reload()  # what was saved comes back
    expect(page.get_by_label("How to search")).to_have_value("20")
    expect(page.get_by_label("calculator")).to_be_checked()
    page.get_by_label("Persona and instructions").fill("Answer briefly.\nAlways cite the manual.\nBe kind.")
    page.get_by_label("Temperature").fill("0.7")
    page.get_by_label("approval").check()  # a workflow of the workspace, bound as a tool
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Version history (2)").click()
    expect(page.locator("[data-diff=none]")).to_have_text("No differences.")  # the draft against the latest
    page.get_by_role("button", name="Changes since the previous version").click()
    rows = page.locator("table.diff tbody tr")
    expect(rows).to_have_count(3)
    persona = rows.filter(has=page.locator("code", has_text="persona"))
    expect(persona).to_contain_text("changed")
    expect(persona.locator(".add")).to_have_text(["+ Always cite the manual.\n"])
    expect(persona.locator(".same")).to_have_text(["  Answer briefly.\n", "  Be kind.\n"])
    temperature = rows.filter(has=page.locator("code", has_text="model.temperature"))
    expect(temperature.locator("del")).to_have_text("0.2")
    expect(temperature.locator("ins")).to_have_text("0.7")
    workflows = rows.filter(has=page.locator("code", has_text="workflow_ids"))
    expect(workflows).to_contain_text("added")
    expect(workflows.locator("ins")).to_have_text(f'["{workflow}"]')


def test_the_config_diff_names_nested_fields_and_diffs_lines(page: Page) -> None:
    found = page.evaluate(
        r"""async () => {
          const { configDiff, lineDiff } = await import("/studio/static/diff.js");
          return {
            fields: configDiff(
              { model: { temperature: 0.2, top_p: null }, name: "a", plugins: [], prologue: "hi", same: [1] },
              { model: { temperature: 0.7, top_p: 0.9 }, name: "a", plugins: [{ plugin_id: "p" }], prologue: "",
                same: [1] },
            ).map((c) => [c.path, c.kind]),
            lines: lineDiff("one\ntwo\nthree", "one\n2\nthree\nfour").map((d) => d.op + d.line),
          };
        }"""
    )
    assert found["fields"] == [
        ["model.temperature", "changed"],
        ["model.top_p", "added"],
        ["plugins", "added"],
        ["prologue", "removed"],
    ]
    assert found["lines"] == [" one", "+2", "-two", " three", "+four"]


def test_the_playground_shows_the_knowledge_a_turn_used(page: Page, api: httpx.Client) -> None:
    manual = "The Zephyr 3000 kettle must be descaled with citric acid every month."
    dataset_with(api, "Kettle manuals", "kettle.txt", manual)
    page.get_by_label("Name", exact=True).fill("Kettle help")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kettle help")
    page.get_by_label("Model", exact=True).fill("scripted/echo")
    page.get_by_label("Kettle manuals").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("How often is the Zephyr kettle descaled?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-status=completed]")).to_be_visible()
    used = page.get_by_role("log").locator(".msg.knowledge")
    expect(used).to_have_count(1)
    used.get_by_text("Knowledge used (1)").click()  # collapsed until opened
    chunk = used.get_by_role("listitem")
    expect(chunk).to_contain_text(manual)
    expect(chunk).to_contain_text(re.compile(r"kettle\.txt · hybrid \d\.\d{3} · bm25 \d+\.\d{3} · vector -?\d\.\d{3}"))


def test_open_an_earlier_conversation_from_the_history_and_go_on_with_it(page: Page) -> None:
    page.get_by_label("Name", exact=True).fill("Historian")
    page.get_by_role("button", name="Create").click()
    page.get_by_label("Model", exact=True).fill("scripted/prompt")  # answers with its prompt: the history shows
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    log = page.get_by_role("log")
    for question in ("first about apples", "second about pears"):
        page.get_by_role("button", name="New conversation").click()
        page.get_by_label("Message", exact=True).fill(question)
        page.get_by_role("button", name="Send").click()
        expect(log.locator(".msg.assistant").last).to_contain_text(question)

    page.get_by_text("Earlier conversations").click()
    earlier = page.locator(".history li")
    expect(earlier).to_have_count(2)
    expect(earlier.first).to_contain_text("second about pears")  # newest first
    earlier.get_by_role("button", name="first about apples").click()
    expect(log.locator(".msg.user")).to_have_text(["first about apples"])
    expect(log).not_to_contain_text("second about pears")
    page.get_by_label("Message", exact=True).fill("and more")
    page.get_by_role("button", name="Send").click()
    expect(log.locator(".msg.assistant").last).to_contain_text("user: first about apples")  # the same conversation
    page.get_by_text("Earlier conversations").click()
    expect(earlier).to_have_count(2)


def test_approve_a_tool_call_the_turn_paused_on_and_reject_the_next(page: Page) -> None:
    page.get_by_label("Name", exact=True).fill("Careful calculator")
    page.get_by_role("button", name="Create").click()
    page.get_by_label("Model", exact=True).fill("scripted/tools")  # calls the tool it is told to, then echoes
    page.get_by_label("Plugins").fill("builtin.calculator/calculator")
    page.get_by_label("Ask before running").fill("calculator")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").filter(has_text="Draft saved.")).to_be_visible()
    log = page.get_by_role("log")

    page.get_by_label("Message", exact=True).fill('call calculator {"expression": "6 * 7"}')
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-status=requires_action]")).to_be_visible()
    asked = log.get_by_role("group", name="Approve the call of calculator?")
    expect(asked).to_contain_text('"expression"')
    expect(log.locator(".msg.tool")).to_have_count(1)  # the call, not run yet: no result
    asked.get_by_label("Approve").check()
    page.get_by_role("button", name="Send and go on").click()
    expect(page.locator("[data-status=completed]")).to_be_visible()
    expect(log.locator("form")).to_have_count(0)
    expect(log.locator(".msg.assistant").last).to_contain_text("42")

    page.get_by_label("Message", exact=True).fill('call calculator {"expression": "1 + 1"}')
    page.get_by_role("button", name="Send").click()
    log.get_by_role("group", name="Approve the call of calculator?").get_by_label("Reject").check()
    page.get_by_role("button", name="Send and go on").click()
    expect(page.locator("[data-status=completed]")).to_be_visible()
    expect(log.locator(".msg.assistant").last).to_have_text('{"approved":false}')  # what the model was told


def test_upload_several_files_at_once_read_the_chunks_and_hit_test_three_ways(page: Page) -> None:
    page.get_by_role("link", name="Knowledge").click()
    page.get_by_label("Name", exact=True).fill("Handbook")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    files = {
        "handbook.txt": b"Holidays: every employee has 25 days of paid leave a year.\n\nParking is free on level two.",
        "canteen.md": b"# Canteen\n\nThe canteen opens at noon and serves soup on Fridays.",
        "broken.json": b'{"broken": ',  # accepted, then its ingestion fails: the others go on
    }
    page.get_by_label("Files").set_input_files(
        [{"name": name, "mimeType": "text/plain", "buffer": data} for name, data in files.items()]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    uploads = page.locator(".uploads li")
    expect(uploads).to_have_count(3)
    for name in ("handbook.txt", "canteen.md"):  # each its own request, its bar full, then ready as the list polls
        expect(uploads.filter(has_text=name).locator("[data-status=ready]")).to_have_text("Ready")
        bar = uploads.filter(has_text=name).get_by_role("progressbar", name=name)
        assert bar.evaluate("el => el.value === el.max && el.max > 0")
        expect(page.get_by_role("row").filter(has_text=name).locator("[data-status=ready]")).to_have_text("Ready")
    failed = uploads.filter(has_text="broken.json")
    expect(failed.locator("[data-status=failed]")).to_have_text("Failed")
    expect(failed.locator(".error")).not_to_be_empty()
    page.locator("form.drop").evaluate(DROP, ["dropped.txt", "Bicycles are parked in the yard."])  # or dropped
    expect(uploads.filter(has_text="dropped.txt").locator("[data-status=ready]")).to_have_text("Ready")

    page.get_by_role("button", name="handbook.txt").click()  # the chunk viewer
    viewer = page.locator("section").filter(has=page.get_by_role("heading", name=re.compile(r"^Chunks of handbook")))
    expect(viewer.get_by_role("heading")).to_have_text("Chunks of handbook.txt (1)")
    chunk = viewer.locator(".chunk")
    expect(chunk).to_have_count(1)
    expect(chunk).to_contain_text("25 days of paid leave")
    expect(chunk.locator(".muted")).to_have_text(re.compile(r"^#1 · \d+ characters$"))
    expect(viewer).to_contain_text("Page 1 of 1")

    page.get_by_label("Query").fill("paid leave days")
    page.get_by_role("button", name="Search").click()
    columns = page.locator(".hit-column")
    expect(columns.get_by_role("heading")).to_have_text(["BM25 (full text)", "Vector (semantic)", "Hybrid"])
    for i, score in enumerate((r"bm25 \d+\.\d{3}", r"vector -?\d\.\d{3}", r"hybrid \d\.\d{3}")):
        top = columns.nth(i).locator(".hit").first
        expect(top).to_contain_text("25 days")
        expect(top.locator(".muted")).to_have_text(re.compile(rf"^handbook\.txt · {score}"))
    tops = {round(columns.nth(i).bounding_box()["y"]) for i in range(3)}  # type: ignore[index]
    assert len(tops) == 1, tops  # side by side on a laptop
    page.set_viewport_size({"width": 480, "height": 800})
    lefts = {round(columns.nth(i).bounding_box()["x"]) for i in range(3)}  # type: ignore[index]
    assert len(lefts) == 1, lefts  # one under the other on a narrow screen


def test_switch_to_chinese_and_the_choice_is_remembered(page: Page) -> None:
    page.get_by_label("Language").select_option("zh")
    expect(page.get_by_role("link", name="智能体")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("智能体")
    page.reload()
    expect(page.get_by_role("button", name="创建")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_label("语言").select_option("en")
    expect(page.get_by_role("link", name="Agents")).to_be_visible()


def test_run_a_workflow_with_a_question_node_and_answer_it(page: Page) -> None:
    page.get_by_role("link", name="Workflows").click()
    page.get_by_label("Workflow file").set_input_files(str(APPROVAL))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("approval")
    graph = page.get_by_role("group", name="Graph")
    expect(graph.locator("[data-node]")).to_have_count(3)  # start, ask, end, drawn from the file

    page.get_by_label("request (string)").fill("a new laptop")
    page.get_by_role("button", name="Run", exact=True).click()
    ask = page.get_by_role("form", name="Question from ask")
    expect(ask).to_contain_text("Approve? a new laptop")
    expect(graph.locator("[data-node=ask]")).to_have_attribute("data-status", "interrupted")
    ask.get_by_label("Answer").fill("yes")
    ask.get_by_role("button", name="Answer").click()
    expect(page.locator(".status-line [data-status=success]")).to_have_text("Succeeded")
    expect(page.locator(".output")).to_contain_text('"decision":"yes"')
    expect(graph.locator("[data-node=ask]")).to_have_attribute("data-status", "success")

    graph.locator("[data-node=ask]").focus()
    page.keyboard.press("Enter")  # a node opens with the keyboard too: its inputs and outputs in the run
    expect(page.locator(".node-detail")).to_contain_text('"answer": "yes"')
    expect(page.get_by_role("row").filter(has_text="Succeeded")).to_have_count(1)


def test_a_typo_in_the_file_is_pinned_to_its_node(page: Page) -> None:
    page.get_by_role("link", name="Workflows").click()
    page.get_by_label("Name", exact=True).fill("Pinned")
    page.get_by_role("button", name="Create").click()
    editor = page.get_by_label("YAML or JSON")
    expect(editor).to_have_value(re.compile("name: Pinned"))
    text = editor.input_value().replace("type: end", "type: ennd")
    editor.fill(text)
    node = page.get_by_role("group", name="Graph").locator("[data-node=end]")
    expect(node).to_have_attribute("data-status", "problem")
    problem = page.locator(".problems li").filter(has_text="ennd")
    expect(problem).to_contain_text("end · line")
    editor.fill(text.replace("type: ennd", "type: end"))
    expect(node).to_have_attribute("data-status", "idle")
    expect(page.locator(".problems li")).to_have_count(0)


def test_usage_shows_an_agent_s_calls_as_a_chart_and_a_table(page: Page) -> None:
    page.get_by_label("Name", exact=True).fill("Counted in the chart")
    page.get_by_role("button", name="Create").click()
    page.get_by_label("Model", exact=True).fill("scripted/echo")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_label("Message", exact=True).fill("three little words")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-status=completed]")).to_be_visible()
    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_role("img", name="Tokens per day over 30 days, by agent")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Counted in the chart")
    expect(row.get_by_role("cell").first).to_have_text("1")  # one call
    page.get_by_label("Show").select_option("calls")
    expect(page.get_by_role("img", name="Calls per day over 30 days, by agent")).to_be_visible()


def test_settings_shows_the_audit_log_without_the_token(page: Page) -> None:
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Key name").fill("audited in the page")
    page.get_by_role("button", name="Create key").click()
    token = page.locator(".token").inner_text()
    audit = page.locator("section").filter(has=page.get_by_role("heading", name="Audit log"))
    audit.get_by_label("Action").select_option("api_key.create")
    row = audit.get_by_role("row").filter(has_text="audited in the page")
    expect(row.get_by_role("cell").nth(2)).to_have_text("local-owner")  # the studio's loopback owner made it
    expect(row.get_by_role("cell").nth(1)).to_have_text("api_key.create")
    assert token.startswith("pat_") and token not in audit.inner_text()


def test_settings_adds_a_member_changes_their_role_and_removes_them(page: Page, base_url: str) -> None:
    page.get_by_role("link", name="Settings").click()
    members = page.locator("section").filter(has=page.get_by_role("heading", name="Members", exact=True))
    members.get_by_label("User name").fill("grace")
    members.get_by_label("Role", exact=True).select_option("viewer")
    members.get_by_role("button", name="Add member").click()
    expect(page.get_by_label("Role of grace")).to_have_value("viewer")
    page.get_by_label("Role of grace").select_option("admin")
    expect(page.get_by_role("status").filter(has_text="Role changed.")).to_be_visible()
    expect(page.get_by_label("Role of grace")).to_have_value("admin")

    page.get_by_label("Key name").fill("grace's key")
    page.get_by_label("Acts as").select_option(label="grace (Admin)")
    page.get_by_role("button", name="Create key").click()
    token = page.locator(".token").inner_text()
    session = f"{base_url}/api/studio/session"
    bearer = {"authorization": f"Bearer {token}"}
    assert httpx.get(session, headers=bearer).json()["role"] == "admin"

    page.get_by_role("button", name="Remove grace").click()
    expect(page.get_by_role("status").filter(has_text="Member removed.")).to_be_visible()
    expect(page.get_by_label("Role of grace")).to_have_count(0)
    assert httpx.get(session, headers=bearer).status_code == 401  # her key stopped at once
