"""Utilities: text formatting, the chat's CSS, uploads, file extensions, requirements, logs."""

import logging
import os
import sys
import unicodedata
from datetime import datetime, timezone

import jinja2

from .. import db as dbmod
from .. import text
from ..errors import invalid_argument
from ..hooks import hookimpl
from ..registry import AGENT, FunctionSet, Json
from ..settings import Setting, check_colour

functions = FunctionSet()
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("sbcore", "web/templates"), autoescape=False,
    undefined=jinja2.StrictUndefined)
DEFAULT_EXTENSIONS = ("jpg,jpeg,png,gif,webp,bmp,heic,pdf,txt,csv,rtf,odt,ods,doc,docx,xls,xlsx,"
                      "ppt,pptx,zip,rar,7z,gz,mp3,wav,ogg,m4a,mp4,mov,webm,avi,json,xml,key,pages")
# Never uploaded, whatever the allow-list says: types a web server or a browser runs.
FORBIDDEN = frozenset("""php php3 php4 php5 php7 php8 phtml phar pht phps pgif shtml shtm htaccess
htpasswd html htm xhtml xht svg svgz js mjs cjs jsp jspx asp aspx ascx ashx asmx cer cgi pl py pyc
rb sh bash zsh ksh csh exe com bat cmd msi msp scr dll so dylib jar war vbs vbe wsf wsh ps1 psm1 hta
swf xap xml~ inc config""".split())
MAX_LOG_LINE = 2000


sbcore_register_functions = functions.hook()


@hookimpl
def sbcore_register_settings():
    return [Setting("upload-allowed-extensions", "text", DEFAULT_EXTENSIONS,
                    "Comma-separated file extensions visitors and agents may upload; active types "
                    "(php, html, svg, js, exe …) are refused whatever this says.")]


@functions("text-formatting-to-html", role=AGENT)
def text_formatting_to_html(ctx, message: str):
    return text.to_html(message)


@functions("clear-text-formatting", role=AGENT)
def clear_text_formatting(ctx, message: str):
    return text.clear(message)


@functions("chat-css")
def chat_css(ctx, color_1: str = "", color_2: str = "", color_3: str = ""):
    colours = {}
    for name, given in (("color_1", color_1), ("color_2", color_2), ("color_3", color_3)):
        colours[name] = check_colour(given or ctx.settings.get(name.replace("_", "-")), name)
    return TEMPLATES.get_template("chat.css.j2").render(**colours)


@functions("upload-path")
def upload_path(ctx, url: bool = False, date: bool = False):
    suffix = "/" + datetime.now(timezone.utc).strftime("%d-%m-%y") if date else ""
    if url:
        return f"{ctx.config.public_url}/uploads{suffix}"
    return os.path.realpath(ctx.config.uploads_dir) + suffix


def extension_allowed(allowed_setting, extension):
    """Normalise (NFKC, case, dots, spaces, trailing dots) and check the allow-list; the
    forbidden active types are refused whatever the list says."""
    name = unicodedata.normalize("NFKC", str(extension)).strip().lower()
    if any(ord(c) < 32 for c in name):
        return False
    name = name.rsplit(".", 1)[-1] if "." in name.strip(".") else name.strip(". ")
    name = name.strip(". \t\r\n\x00")
    if not name or not name.isascii() or not name.isalnum():
        return False
    if name in FORBIDDEN or name.startswith(("php", "pht", "asp", "htm", "js")):
        return False
    allowed = {e.strip().lower().lstrip(".") for e in str(allowed_setting).split(",") if e.strip()}
    return name in allowed


@functions("is-allowed-extension", role=AGENT)
def is_allowed_extension(ctx, extension: str):
    return extension_allowed(ctx.settings.get("upload-allowed-extensions"), extension)


def writable(folder):
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, ".sbcore-write-test")
        with open(probe, "w") as handle:
            handle.write("ok")
        os.remove(probe)
        return True
    except OSError:
        return False


def utf8mb4():
    if dbmod.kind() != "mysql":
        return True
    row = dbmod.database.execute_sql(
        "SELECT default_character_set_name FROM information_schema.SCHEMATA "
        "WHERE schema_name = DATABASE()").fetchone()
    return bool(row) and row[0] == "utf8mb4"


@functions("system-requirements")
def system_requirements(ctx):
    """The reference's keys, each answering what sbcore needs in its place."""
    import importlib.util
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {
        "php-version": sys.version_info >= (3, 11),                       # the Python version
        "zip-archive": importlib.util.find_spec("zipfile") is not None,
        "plugin-folder": os.access(package, os.R_OK),                     # the sbcore package
        "uploads-folder": writable(ctx.config.uploads_dir),
        "apps-folder": writable(ctx.config.data_dir),                     # the data folder
        "languages-folder": writable(os.path.join(ctx.config.data_dir, "languages")),
        "ajax": dbmod.database.execute_sql("SELECT 1").fetchone()[0] == 1,  # the database answers
        "curl": importlib.util.find_spec("requests") is not None,          # outbound HTTP
        "UTF8mb4": utf8mb4(),
    }


def log_path(config):
    return os.path.join(config.data_dir, "logs", "sbcore.log")


@functions("logs")
def logs(ctx, string: str, user: Json = False):
    line = " ".join(string.split())[:MAX_LOG_LINE]
    if not line:
        raise invalid_argument("string", "the log message is empty.")
    user_id = None
    if isinstance(user, dict) and str(user.get("id", "")).isdecimal():
        user_id = int(user["id"])
    elif isinstance(user, int) and not isinstance(user, bool):
        user_id = user
    path = log_path(ctx.config)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{stamp} {'user ' + str(user_id) + ' ' if user_id else ''}{line}\n")
    logging.getLogger("sbcore.logs").info(line)
    return True
