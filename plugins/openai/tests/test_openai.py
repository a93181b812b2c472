"""The OpenAI plugin against a fake OpenAI API (responses), with the chat completion
object and the error body of OpenAI's API reference."""

import json

import pytest
import responses

from sbcore import db as dbmod
from sbcore.models import Message
from sbcore.testing import assert_shape, reference_example
from sbcore_openai import plugin

API = "https://api.openai.com/v1"
KEY = "sk-proj-test0123456789abcdef"

COMPLETION = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion", "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I assist you today?",
                                         "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29},
    "service_tier": "default"}
INVALID_KEY = {"error": {"message": "Incorrect API key provided: sk-proj-********cdef. You can find your API "
                                    "key at https://platform.openai.com/account/api-keys.",
                         "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


@pytest.fixture
def configured(core):
    with dbmod.connection():
        core.settings.set("open-ai", {"open-ai-active": True, "open-ai-key": KEY, "open-ai-model": "gpt-4o-mini",
                                      "open-ai-tokens": 0, "open-ai-temperature": 1, "open-ai-prompt": "",
                                      "open-ai-omit-previous-messages": False})
    return core


def sent(index=-1):
    return json.loads(responses.calls[index].request.body)


def conversation_with(api, *messages):
    """A user's conversation with ``messages`` as (sender, text); sender "user" or "agent"."""
    user_id = api.ok("add-user", first_name="Ann", email="ann@example.com")
    agent_id = api.ok("add-user", first_name="Al", user_type="agent", email="al@example.com")
    conversation_id = int(api.ok("new-conversation", user_id=user_id)["details"]["id"])
    for sender, text in messages:
        api.ok("send-message", user_id=user_id if sender == "user" else agent_id,
               conversation_id=conversation_id, message=text)
    return conversation_id


def test_not_configured_answers_open_ai_not_active(api, core):
    with responses.RequestsMock():  # no request may be sent
        result = api.call("open-ai-message", message="Hello")
        assert result.status == 400 and result.response == "open-ai-not-active"
        result = api.call("open-ai-curl", url_part="models", type="GET")
        assert result.response == "open-ai-not-active"


@responses.activate
def test_message_sends_a_chat_completion_and_answers_the_reference_shape(api, configured):
    responses.post(f"{API}/chat/completions", json=COMPLETION)
    answer = api.ok("open-ai-message", message="Hello")
    assert answer == [True, "Hello! How can I assist you today?", False, False]
    assert_shape(answer, reference_example("open-ai-message"))
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert sent() == {"model": "gpt-4o-mini", "temperature": 1,
                      "messages": [{"role": "user", "content": "Hello"}]}


@responses.activate
def test_model_max_tokens_and_prompt(api, configured):
    with dbmod.connection():
        configured.settings.set("open-ai", {**configured.settings.get("open-ai"),
                                            "open-ai-prompt": "You are Support Board's assistant.",
                                            "open-ai-tokens": 200})
    responses.post(f"{API}/chat/completions", json=COMPLETION)
    api.ok("open-ai-message", message="Hi", model="gpt-4o")
    assert sent()["model"] == "gpt-4o" and sent()["max_tokens"] == 200
    assert sent()["messages"][0] == {"role": "system", "content": "You are Support Board's assistant."}
    api.ok("open-ai-message", message="Hi", max_tokens=50)
    assert sent()["max_tokens"] == 50 and sent()["model"] == "gpt-4o-mini"
    result = api.call("open-ai-message", message="Hi", max_tokens=0)
    assert result.status == 400 and result.response == "invalid-argument"
    assert len(responses.calls) == 2


@responses.activate
def test_conversation_is_the_context_and_the_bot_answers_in_it(api, configured):
    conversation_id = conversation_with(api, ("user", "I ordered shoes"), ("agent", "Which size?"),
                                        ("user", "Size 42, where are they?"))
    responses.post(f"{API}/chat/completions", json=COMPLETION)
    answer = api.ok("open-ai-message", message="Size 42, where are they?", conversation_id=conversation_id)
    assert answer[0] is True
    assert sent()["messages"] == [{"role": "user", "content": "I ordered shoes"},
                                  {"role": "assistant", "content": "Which size?"},
                                  {"role": "user", "content": "Size 42, where are they?"}]
    messages = api.ok("get-conversation", conversation_id=conversation_id)["messages"]
    assert messages[-1]["message"] == "Hello! How can I assist you today?"
    assert messages[-1]["user_type"] == "bot"
    # a message not yet in the conversation is added after its history
    api.ok("open-ai-message", message="Thanks", conversation_id=conversation_id)
    assert sent()["messages"][-2:] == [{"role": "assistant", "content": "Hello! How can I assist you today?"},
                                       {"role": "user", "content": "Thanks"}]


@responses.activate
def test_omit_previous_messages_sends_only_the_message(api, configured):
    with dbmod.connection():
        configured.settings.set("open-ai", {**configured.settings.get("open-ai"),
                                            "open-ai-omit-previous-messages": True})
    conversation_id = conversation_with(api, ("user", "Old question"))
    responses.post(f"{API}/chat/completions", json=COMPLETION)
    api.ok("open-ai-message", message="New question", conversation_id=conversation_id)
    assert sent()["messages"] == [{"role": "user", "content": "New question"}]


@responses.activate
def test_openai_error_is_a_502_with_its_message_and_stores_nothing(api, configured):
    conversation_id = conversation_with(api, ("user", "Hello there"))
    responses.post(f"{API}/chat/completions", json=INVALID_KEY, status=401)
    result = api.call("open-ai-message", message="Hello there", conversation_id=conversation_id)
    assert result.status == 502 and result.response == "openai-error"
    assert "Incorrect API key provided" in result.json["message"]
    assert KEY not in result.json["message"]
    with dbmod.connection():
        assert Message.select().where(Message.conversation == conversation_id).count() == 1


def test_unknown_conversation_is_404_before_any_call(api, configured):
    with responses.RequestsMock():
        result = api.call("open-ai-message", message="Hi", conversation_id=999999)
        assert result.status == 404 and result.response == "conversation-not-found"


@responses.activate
def test_base_url_setting_and_sb_url_openai(api, configured, core):
    with dbmod.connection():
        core.settings.set("open-ai-url", "https://proxy.example.com/openai/")
    responses.post("https://proxy.example.com/openai/v1/chat/completions", json=COMPLETION)
    assert api.ok("open-ai-message", message="Hi")[0] is True
    core.config = core.config.replace(url_overrides={"openai": "https://llm.internal.example"})
    responses.post("https://llm.internal.example/v1/chat/completions", json=COMPLETION)
    assert api.ok("open-ai-message", message="Hi")[0] is True
    assert responses.calls[-1].request.url == "https://llm.internal.example/v1/chat/completions"


@responses.activate
def test_audio_is_transcribed_first(api, configured):
    responses.get("https://files.example.com/voice.mp3", body=b"ID3fake-mp3-bytes")
    responses.post(f"{API}/audio/transcriptions", json={"text": "Where is my order?"})
    responses.post(f"{API}/chat/completions", json=COMPLETION)
    api.ok("open-ai-message", audio="https://files.example.com/voice.mp3")
    upload = responses.calls[1].request
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert b"whisper-1" in upload.body and b"ID3fake-mp3-bytes" in upload.body
    assert sent()["messages"] == [{"role": "user", "content": "Where is my order?"}]


def test_settings_are_validated(api, configured):
    result = api.call("save-settings", settings={"open-ai": {"open-ai-active": "yes"}})
    assert result.status == 400 and result.response == "invalid-setting-value"


# --- open-ai-curl ---


@responses.activate
def test_curl_posts_json_to_the_path(api, configured):
    responses.post(f"{API}/embeddings", json={"object": "list", "data": [
        {"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093]}], "model": "text-embedding-3-small"})
    answer = api.ok("open-ai-curl", url_part="embeddings",
                    post_fields={"model": "text-embedding-3-small", "input": "hello"})
    assert answer["data"][0]["embedding"] == [0.0023, -0.0093]
    assert sent() == {"model": "text-embedding-3-small", "input": "hello"}
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


@responses.activate
def test_curl_get_and_delete(api, configured):
    responses.get(f"{API}/models", json={"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
    responses.delete(f"{API}/files/file-abc123", json={"id": "file-abc123", "object": "file", "deleted": True})
    assert api.ok("open-ai-curl", url_part="/v1/models", type="GET")["data"][0]["id"] == "gpt-4o-mini"
    assert api.ok("open-ai-curl", url_part="files/file-abc123", type="DELETE")["deleted"] is True


@responses.activate
def test_curl_upload_sends_a_file_of_the_uploads_folder(api, configured, core, tmp_path):
    import os
    folder = os.path.join(core.config.uploads_dir, "docs")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "faq.jsonl"), "w") as handle:
        handle.write('{"prompt": "a"}\n')
    responses.post(f"{API}/files", json={"id": "file-abc123", "object": "file", "filename": "faq.jsonl",
                                         "purpose": "assistants"})
    answer = api.ok("open-ai-curl", url_part="files", type="UPLOAD",
                    post_fields={"file": "docs/faq.jsonl", "purpose": "assistants"})
    assert answer["id"] == "file-abc123"
    body = responses.calls[0].request.body
    assert b'name="purpose"' in body and b'{"prompt": "a"}' in body and b'filename="faq.jsonl"' in body
    result = api.call("open-ai-curl", url_part="files", type="UPLOAD", post_fields={"file": "../../etc/passwd"})
    assert result.status == 400 and len(responses.calls) == 1


@pytest.mark.parametrize("url_part", ["https://evil.example.com/x", "//evil.example.com/x", "../../x",
                                      "models/../../x", "models?x=1", "models#x", "@evil.example.com", ""])
def test_curl_refuses_paths_that_leave_the_api(api, configured, url_part):
    with responses.RequestsMock():
        result = api.call("open-ai-curl", url_part=url_part, type="GET")
        assert result.status == 400 and result.response == "invalid-argument"


def test_curl_refuses_an_unknown_type(api, configured):
    with responses.RequestsMock():
        result = api.call("open-ai-curl", url_part="models", type="PUT")
        assert result.status == 400 and result.response == "invalid-argument"


@responses.activate
def test_curl_error_is_502(api, configured):
    responses.post(f"{API}/chat/completions", json={"error": {
        "message": "you must provide a model parameter", "type": "invalid_request_error", "param": None,
        "code": None}}, status=400)
    result = api.call("open-ai-curl", url_part="chat/completions", post_fields={"messages": []})
    assert result.status == 502 and "you must provide a model parameter" in result.json["message"]


def test_suggestions_helper_without_configuration_is_empty(ctx):
    from sbcore_openai.functions import suggestions
    assert suggestions(ctx, "Hello", False) == []


@responses.activate
def test_suggestions_helper_asks_for_n_choices(ctx, configured):
    from sbcore_openai.functions import suggestions
    completion = dict(COMPLETION, choices=[
        {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        for i, text in enumerate(["Sure!", "Happy to help.", "Sure!"])])
    responses.post(f"{API}/chat/completions", json=completion)
    assert suggestions(ctx, "Can you help?", False) == ["Sure!", "Happy to help."]
    assert sent()["n"] == 3


@responses.activate
def test_the_bot_answers_users_by_itself_only_when_asked(api, configured):
    conversation_id = conversation_with(api, ("user", "Hello?"))
    assert len(responses.calls) == 0  # open-ai-answer-users is off
    with dbmod.connection():
        configured.settings.set("open-ai", {**configured.settings.get("open-ai"), "open-ai-answer-users": True})
    responses.post(f"{API}/chat/completions", json=COMPLETION)
    user_id = api.ok("get-conversation", conversation_id=conversation_id)["details"]["user_id"]
    api.ok("send-message", user_id=user_id, conversation_id=conversation_id, message="Anyone there?")
    assert sent()["messages"] == [{"role": "user", "content": "Hello?"}, {"role": "user", "content": "Anyone there?"}]
    messages = api.ok("get-conversation", conversation_id=conversation_id)["messages"]
    assert [(m["message"], m["user_type"]) for m in messages[-2:]] == [
        ("Anyone there?", "user"), ("Hello! How can I assist you today?", "bot")]
    # OpenAI failing leaves the user's message sent
    responses.replace(responses.POST, f"{API}/chat/completions", json=INVALID_KEY, status=401)
    assert api.call("send-message", user_id=user_id, conversation_id=conversation_id, message="Hm").ok
