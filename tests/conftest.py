import pytest

from sbcore import db as dbmod


@pytest.fixture
def snapshot(core):
    """Every row of every sbcore table, to show that a failed call changed nothing."""
    def take():
        with dbmod.connection() as database:
            tables = sorted(t for t in database.get_tables() if t.startswith("sb_"))
            return {t: sorted(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                              for row in database.execute_sql(f"SELECT * FROM {t}").fetchall())
                    for t in tables}  # PostgreSQL answers bytea as memoryview: compared as bytes
    return take


@pytest.fixture
def make_user(api):
    """Create a user through the API; returns its id."""
    def make(**fields):
        return api.ok("add-user", **fields)
    return make


@pytest.fixture
def agent(api):
    return api.ok("add-user", first_name="Bruce", last_name="Peterson", email="bruce@example.com",
                  user_type="agent")


@pytest.fixture
def visitor(api):
    return api.ok("add-user", first_name="Don", last_name="John", user_type="lead")


@pytest.fixture
def open_conversation(api):
    """Open a conversation through the API; returns its id (int)."""
    def open_(user_id, **fields):
        return int(api.ok("new-conversation", user_id=user_id, **fields)["details"]["id"])
    return open_


@pytest.fixture
def backdate():
    """Set creation/update times of rows directly, for "new since" tests."""
    def set_times(model, row_id, **times):
        with dbmod.connection():
            model.update(**times).where(model.id == row_id).execute()
    return set_times
