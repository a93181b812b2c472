"""The WooCommerce plugin's hook implementations (the logic is in functions.py,
catalog.py, sessions.py and wpsync.py)."""

from sbcore import hookimpl
from sbcore.worker import Job

from . import catalog, functions as F, sessions, wpsync


@hookimpl
def sbcore_register_functions():
    return (F.functions.api_functions() + catalog.functions.api_functions() + wpsync.functions.api_functions()
            + sessions.functions.api_functions())


@hookimpl
def sbcore_register_settings():
    return F.SETTINGS + sessions.SETTINGS


@hookimpl
def sbcore_reserved_details():
    # the WordPress user and the WooCommerce session are identity: only wp-synch and
    # the server set them, never a visitor
    return [F.WP_ID, F.SESSION_KEY]


@hookimpl
def sbcore_register_jobs():
    # "This function runs automatically every hour via cron jobs."
    return [Job("woocommerce-coupon-delete-expired", 3600, catalog.hourly_delete_expired, transaction=False)]


def run_wp_synch(core, args):
    import sys

    from sbcore import db as dbmod
    from tqdm import tqdm
    with dbmod.connection(), tqdm(unit="pages", file=sys.stderr) as bar:
        def progress(page, total):
            bar.total = total
            bar.update(page - bar.n)
        counts = wpsync.synchronize(core.context(), progress)
    print(f"{counts['created']} users created, {counts['linked']} linked by email, {counts['skipped']} skipped")
    return 0


@hookimpl
def sbcore_register_commands():
    return [("wp-synch", "import the WordPress site's users (wp/v2/users), with a progress bar",
             lambda parser: None, run_wp_synch)]
