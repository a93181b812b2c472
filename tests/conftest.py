import pytest

from sbcore import db as dbmod


@pytest.fixture
def snapshot(core):
    """Every row of every sbcore table, to show that a failed call changed nothing."""
    def take():
        with dbmod.connection() as database:
            tables = sorted(t for t in database.get_tables() if t.startswith("sb_"))
            return {t: sorted(map(repr, database.execute_sql(f"SELECT * FROM {t}").fetchall()))
                    for t in tables}
    return take


@pytest.fixture
def make_user(api):
    """Create a user through the API; returns its id."""
    def make(**fields):
        return api.ok("add-user", **fields)
    return make
