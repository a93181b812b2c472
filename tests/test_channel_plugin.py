"""A messaging channel is its functions, its client and one declaration (ChannelPlugin):
the registration hooks every channel used to repeat come from it."""

import pytest

from sbcore import FunctionSet, channels
from sbcore.migrations import Migration

functions = FunctionSet()
SENT = []


@functions("pigeon-send-message")
def pigeon_send_message(ctx, text: str):
    return f"sent {text}"


class Webhook:
    def __init__(self, core):
        self.core = core

    def post(self, request):
        return channels.Answer(200, f"got {request.path['loft']}")


def send(ctx, conversation, message, attachments):
    if conversation.source != "pg":
        return None
    SENT.append(message)
    return ["pigeon-1"]


channel = channels.ChannelPlugin(
    "pigeon", functions=functions,
    routes={"/channels/pigeon/{loft}": Webhook}, send=send,
    commands=[("pigeon-fly", "fly", lambda parser: None, lambda core, args: 0)],
    migrations=[Migration("pigeon", 1, "nothing to make", lambda database, migrator: None)])

pytestmark = pytest.mark.sbcore(plugins=[channel])


def test_one_declaration_registers_functions_routes_and_migrations(api, app, core):
    from falcon.testing import TestClient
    assert api.ok("pigeon-send-message", text="hi") == "sent hi"
    assert core.functions["pigeon-send-message"].owner == "pigeon"
    answer = TestClient(app).simulate_post("/channels/pigeon/north", body=b"{}")
    assert answer.status_code == 200 and answer.text == "got north"
    from sbcore.models import AppliedMigration
    from sbcore import db as dbmod
    with dbmod.connection():
        assert AppliedMigration.select().where(AppliedMigration.app == "pigeon").count() == 1
    from sbcore.registry import collect_list
    assert "pigeon-fly" in [c[0] for c in collect_list(core.pm, "sbcore_register_commands")]


def test_the_declared_send_answers_for_its_own_conversations_only(core):
    class Conversation:
        def __init__(self, source):
            self.source = source
    hook = core.pm.hook.sbcore_channel_send
    assert hook(ctx=None, conversation=Conversation("pg"), message="hello", attachments=[]) == ["pigeon-1"]
    assert hook(ctx=None, conversation=Conversation("tg"), message="hello", attachments=[]) is None
    assert SENT[-1] == "hello"
