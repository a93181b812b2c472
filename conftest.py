"""The project's own test set-up: sbcore.testing's fixtures (opt-in, ``sbcore_`` names),
and the short names the project's tests use for them."""

import pytest

pytest_plugins = ["sbcore.testing"]


@pytest.fixture
def database_url(sbcore_database_url):
    return sbcore_database_url


@pytest.fixture
def sb_config(request, tmp_path, database_url):
    """The configuration; test modules override it (``sb_config.replace(...)``)."""
    from sbcore.testing import make_config
    return make_config(request, tmp_path, database_url)


@pytest.fixture
def sbcore_config(sb_config):
    return sb_config


@pytest.fixture
def pm(sbcore_pm):
    return sbcore_pm


@pytest.fixture
def core(sbcore_core):
    return sbcore_core


@pytest.fixture
def ctx(sbcore_ctx):
    return sbcore_ctx


@pytest.fixture
def admin_token(sbcore_admin_token):
    return sbcore_admin_token


@pytest.fixture
def app(sbcore_app):
    return sbcore_app


@pytest.fixture
def api(sbcore_api):
    return sbcore_api


@pytest.fixture
def widget(sbcore_widget):
    return sbcore_widget


@pytest.fixture
def receiver(sbcore_receiver):
    return sbcore_receiver


@pytest.fixture
def assert_query_count(sbcore_assert_query_count):
    return sbcore_assert_query_count
