"""No query count grows with the number of rows returned."""

import pytest

from sbcore import db as dbmod
from sbcore.models import User, UserDetail


def add_users(count, prefix):
    with dbmod.connection(), dbmod.database.atomic():
        start = User.select().count()
        User.insert_many([{"first_name": f"{prefix}{i}", "last_name": "Q", "token": f"{prefix}{i:038d}",
                           "user_type": "user"} for i in range(count)]).execute()
        ids = [u.id for u in User.select(User.id).where(User.first_name.startswith(prefix))]
        UserDetail.insert_many([{"user": i, "slug": "phone", "name": "Phone", "value": str(i)}
                                for i in ids]).execute()
        from sbcore.users import reindex
        reindex(ids)
    assert len(ids) == count and User.select().count() == start + count
    return ids


@pytest.mark.parametrize("function, fields, expected", [
    ("get-users", {}, 2),                     # admin token, the page
    ("get-users", {"extra": True}, 3),        # + the details of the page, in one query
    ("get-users", {"search": "qq"}, 2),       # full-text match inside the same query
    ("search-users", {"search": "qq"}, 2),
    ("get-new-users", {"datetime": "0"}, 2),
    ("get-online-users", {}, 2),             # the online window setting: its stamp came with the token
    ("get-users-with-details", {"details": ["email", "phone"]}, 3),
])
def test_list_queries_do_not_grow_with_rows(api, assert_query_count, function, fields, expected):
    add_users(3, "qq")
    with assert_query_count(expected):
        few = api.ok(function, **fields)
    add_users(97, "qqq")
    with assert_query_count(expected):
        many = api.ok(function, **fields)
    assert len(str(many)) > len(str(few))


def test_get_user_is_two_queries(api, assert_query_count):
    user_id = add_users(1, "one")[0]
    with assert_query_count(2):
        api.ok("get-user", user_id=user_id)
    with assert_query_count(3):
        api.ok("get-user", user_id=user_id, extra=True)


def test_delete_users_is_constant_per_batch(api, assert_query_count):
    ids = add_users(50, "del")
    # admin (and the settings stamp); their conversations; their messages (search rows
    # and files, one read); profile images; user search rows; users (the database
    # cascades the rest); the user-deleted events in one insert; their profile-image
    # uses, the files they uploaded
    with assert_query_count(9):
        api.ok("delete-users", user_ids=ids)
