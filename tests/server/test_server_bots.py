"""The bot, user and workspace endpoints as the unmodified cozepy SDK drives them."""

from __future__ import annotations

import httpx
import pytest
from cozepy import Coze, CozeAPIError, Message
from cozepy.bots import (
    BotModelInfo,
    BotOnboardingInfo,
    BotPromptInfo,
    BotSuggestReplyInfo,
    PluginIDList,
    PublishStatus,
    SuggestReplyMode,
    WorkflowIDList,
)
from server_harness import Running
from test_workflows_api import ECHO, _post


def test_me_and_workspaces(coze: Coze) -> None:
    me = coze.users.me()
    assert me.user_name == "admin" and me.user_id.isdigit()
    workspaces = coze.workspaces.list().items
    assert [(w.name, w.role_type, w.workspace_type) for w in workspaces] == [("Personal", "owner", "personal")]


def test_create_update_publish_retrieve(coze: Coze, server: Running, token: str, space_id: str) -> None:
    workflow_id = _post(server, token, "/v1/workflows", {"document": ECHO})["data"]["workflow_id"]  # one that exists
    bot = coze.bots.create(
        space_id=space_id,
        name="Helper",
        description="helps",
        prompt_info=BotPromptInfo(prompt="You help."),
        onboarding_info=BotOnboardingInfo(prologue="Hi", suggested_questions=["What can you do?"]),
        suggest_reply_info=BotSuggestReplyInfo(reply_mode=SuggestReplyMode.ENABLE),
        model_info_config=BotModelInfo(model_id="scripted/echo", temperature=0.2),
        plugin_id_list=PluginIDList(
            id_list=[PluginIDList.PluginIDInfo(plugin_id="builtin.clock", api_id="current_time")]
        ),
        workflow_id_list=WorkflowIDList(ids=[WorkflowIDList.WorkflowIDInfo(id=workflow_id)]),
    )
    assert bot.bot_id.isdigit()
    with pytest.raises(CozeAPIError) as unpublished:
        coze.bots.retrieve(bot_id=bot.bot_id)
    assert unpublished.value.code == 4200

    published = coze.bots.publish(bot_id=bot.bot_id)
    coze.bots.update(bot_id=bot.bot_id, name="Helper 2", prompt_info=BotPromptInfo(prompt="Changed."))

    online = coze.bots.retrieve(bot_id=bot.bot_id)  # v1: the published version, not the newer draft
    assert (online.name, online.version) == ("Helper", published.version)
    assert online.prompt_info is not None and online.prompt_info.prompt == "You help."
    assert online.model_info is not None and online.model_info.model_id == "scripted/echo"
    assert online.onboarding_info is not None and online.onboarding_info.suggested_questions == ["What can you do?"]
    assert online.plugin_info_list is not None and online.plugin_info_list[0].name == "clock"
    assert online.plugin_info_list[0].api_info_list[0].api_id == "current_time"
    assert online.workflow_info_list is not None and online.workflow_info_list[0].id == workflow_id

    draft = coze.bots.retrieve(bot_id=bot.bot_id, is_published=False, use_api_version=2)
    assert draft.name == "Helper 2" and draft.prompt_info is not None and draft.prompt_info.prompt == "Changed."
    assert coze.bots.retrieve(bot_id=bot.bot_id, is_published=True, use_api_version=2).name == "Helper"

    second = coze.bots.publish(bot_id=bot.bot_id)
    assert second.version != published.version
    assert coze.bots.retrieve(bot_id=bot.bot_id).name == "Helper 2"


def test_lists(coze: Coze, space_id: str) -> None:
    draft_only = coze.bots.create(space_id=space_id, name="Draft only")
    live = coze.bots.create(space_id=space_id, name="Live")
    coze.bots.publish(bot_id=live.bot_id)

    v1 = {bot.bot_id for bot in coze.bots.list(space_id=space_id)}
    assert live.bot_id in v1 and draft_only.bot_id not in v1

    v2 = {bot.id: bot.is_published for bot in coze.bots.list(space_id=space_id, use_api_version=2)}
    assert v2[live.bot_id] is True and v2[draft_only.bot_id] is False
    unpublished = coze.bots.list(space_id=space_id, use_api_version=2, publish_status=PublishStatus.UNPUBLISHED_DRAFT)
    assert {bot.id for bot in unpublished} == {draft_only.bot_id}

    paged = coze.bots.list(space_id=space_id, use_api_version=2, page_size=1)
    assert len(paged.items) == 1 and len(list(paged)) == paged.total >= 2


def test_unknown_provider_is_invalid(coze: Coze, space_id: str) -> None:
    with pytest.raises(CozeAPIError) as error:
        coze.bots.create(space_id=space_id, name="x", model_info_config=BotModelInfo(model_id="nope/model"))
    assert error.value.code == 4000 and "unknown provider 'nope'" in (error.value.msg or "")


def test_workspace_isolation(server: Running, coze: Coze, space_id: str) -> None:
    bot = coze.bots.create(space_id=space_id, name="Private")
    coze.bots.publish(bot_id=bot.bot_id)
    other = server.coze(server.make_key("--workspace", "Team B"))
    other_space = other.workspaces.list().items[0].id
    assert other_space != space_id

    for call in (
        lambda: other.bots.retrieve(bot_id=bot.bot_id),
        lambda: other.bots.retrieve(bot_id=bot.bot_id, is_published=False, use_api_version=2),
        lambda: other.bots.update(bot_id=bot.bot_id, name="taken"),
        lambda: other.bots.list(space_id=space_id),
        lambda: other.bots.create(space_id=space_id, name="intruder"),
    ):
        with pytest.raises(CozeAPIError) as error:
            call()
        assert error.value.code == 4200
    assert [b.id for b in other.bots.list(space_id=other_space, use_api_version=2)] == []


def test_viewer_cannot_write(server: Running, coze: Coze, space_id: str) -> None:
    bot = coze.bots.create(space_id=space_id, name="Shared")
    viewer = server.coze(server.make_key("--user", "vera", "--role", "viewer"))
    assert viewer.bots.retrieve(bot_id=bot.bot_id, is_published=False, use_api_version=2).name == "Shared"
    for call in (
        lambda: viewer.bots.create(space_id=space_id, name="no"),
        lambda: viewer.bots.update(bot_id=bot.bot_id, name="no"),
        lambda: viewer.bots.publish(bot_id=bot.bot_id),
    ):
        with pytest.raises(CozeAPIError) as error:
            call()
        assert error.value.code == 4101


def test_unpublish_takes_a_bot_offline_until_published_again(server: Running, coze: Coze, space_id: str) -> None:
    bot_id = coze.bots.create(
        space_id=space_id, name="Seasonal", model_info_config={"model_id": "scripted/echo"}
    ).bot_id
    coze.bots.publish(bot_id=bot_id)
    coze.bots.unpublish(bot_id=bot_id, connector_id="1024", unpublish_reason="out of season")
    with pytest.raises(CozeAPIError) as offline:
        coze.bots.retrieve(bot_id=bot_id)
    assert offline.value.code == 4200
    assert bot_id not in {
        b.id for b in coze.bots.list(space_id=space_id, publish_status=PublishStatus.PUBLISHED_ONLINE).items
    }
    member = server.coze(server.make_key("--user", "shopper", "--role", "member"))
    with pytest.raises(CozeAPIError, match="has not been published"):
        member.chat.create(user_id="u", bot_id=bot_id, additional_messages=[Message.build_user_question_text("hi")])
    with pytest.raises(CozeAPIError, match="is not published") as again:
        coze.bots.unpublish(bot_id=bot_id, connector_id="1024")
    assert again.value.code == 4000
    coze.bots.publish(bot_id=bot_id)
    chat = member.chat.create(user_id="u", bot_id=bot_id, additional_messages=[Message.build_user_question_text("hi")])
    assert chat.status == "completed"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tools": [{"name": "bad name!"}]}, "tools[0].name"),
        ({"tools": [{"name": "t"}, {"name": "t"}]}, "is used twice"),
        ({"tools": [{"name": "t", "parameters": {"type": "string"}}]}, "a JSON Schema of type object"),
        ({"tools": [{"description": "no name"}]}, "tools.0.name"),
        ({"variables": [{"keyword": "1st"}]}, "variables.0.keyword"),
        ({"knowledge": {"dataset_ids": "not a list"}}, "knowledge.dataset_ids"),
        ({"knowledge": {"dataset_ids": [], "search_strategy": 7}}, "knowledge.search_strategy"),
    ],
)
def test_bad_tools_variables_and_knowledge_are_refused(
    server: Running, token: str, coze: Coze, space_id: str, fields: dict[str, object], message: str
) -> None:
    bot_id = coze.bots.create(space_id=space_id, name="Strict").bot_id
    answer = httpx.post(
        f"{server.base_url}/v1/bot/update",
        json={"bot_id": bot_id, **fields},
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 400 and answer.json()["code"] == 4000 and message in answer.json()["msg"]
