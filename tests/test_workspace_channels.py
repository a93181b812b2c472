"""An agent's reply from the workspace to a messaging platform's conversation goes out
through the channel's plugin, exactly as send-message on the Web API does (Telegram,
faked at the HTTP boundary with responses)."""

import json

import pytest
import responses
from falcon.testing import TestClient

from sbcore import db as dbmod
from sbcore_telegram.plugin import channel as plugin
from test_workspace import Workspace

API = "https://api.telegram.org"
TOKEN = "21202173:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "a-secret-token_123"
CHAT = 148766722
SENT = {"ok": True, "result": {"message_id": 2030, "chat": {"id": CHAT, "type": "private"},
                               "date": 1699621061, "text": "Hello!"}}


pytestmark = pytest.mark.sbcore(plugins=[plugin], private_network=True)  # responses fakes the network


@responses.activate
def test_a_workspace_reply_goes_out_through_the_channel(core, app, api):
    with dbmod.connection():
        core.settings.set("telegram-bots", [{"token": TOKEN, "secret-token": SECRET}])
    inbound = {"update_id": 11365, "message": {
        "message_id": 1365, "date": 1699621000, "text": "Ciao, ho bisogno di aiuto",
        "from": {"id": CHAT, "is_bot": False, "first_name": "Federico"},
        "chat": {"id": CHAT, "first_name": "Federico", "type": "private"}}}
    TestClient(app).simulate_post("/channels/telegram/21202173", body=json.dumps(inbound).encode(), headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})
    agent_id = int(api.ok("add-user", first_name="Bruce", email="bruce@example.com", password="agent-password",
                          user_type="agent"))
    agent = Workspace(app)
    assert agent.sign_in("bruce@example.com", "agent-password").status_code == 303
    row = agent.call("get-conversations").json["response"][0]
    assert row["source"] == "tg" and row["message"] == "Ciao, ho bisogno di aiuto"
    responses.post(f"{API}/bot{TOKEN}/sendMessage", json=SENT)
    sent = agent.call("send-message", user_id=agent_id, conversation_id=int(row["conversation_id"]),
                      message="Come posso aiutarti?")
    assert sent.status_code == 200, sent.json
    assert json.loads(responses.calls[-1].request.body) == {"chat_id": CHAT, "text": "Come posso aiutarti?"}
    assert agent.call("telegram-send-message", csrf=False, chat_id=str(CHAT), message="x").status_code == 403
