"""Functions and settings gathered from the hooks once, at start-up.

A function is a plain Python function ``fn(ctx, <reference argument names>)``; the
registry binds request fields to parameters by name (``login_cookie`` also takes the
field ``login-cookie``) and converts them by type hint, so no dispatcher is needed."""

import inspect
import json
import re
import types
import typing
from dataclasses import dataclass, field

from .errors import ApiError, StartupError, invalid_argument, missing_argument

TRUE_WORDS = {"true", "1", "yes", "on"}

# Who may call a function through an agent-workspace session (``/admin/api``): every
# function declares one of these; the admin token (``/api``) may call them all.
AGENT = "agent"
ADMIN = "admin"
ROLES = (AGENT, ADMIN)
# the highest page a paginated list takes (its offset must stay a 64-bit integer)
MAX_PAGE = 10_000_000
# Database ids and counts are signed 64-bit integers: anything beyond is junk, not a lookup.
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1
FALSE_WORDS = {"false", "0", "no", "off", "", "null", "none"}
# How deep arrays and objects may nest in a request (a JSON body, a JSON-string field or
# PHP bracket keys): deeper answers 400 ``too-deep`` instead of exhausting the stack.
MAX_DEPTH = 32


def depth(value):
    """How deep ``value``'s lists and dicts nest (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH + 1:
            break
        stack.extend((child, level + 1) for child in item)
    return deepest


def too_deep(name=None):
    where = f"'{name}'" if name else "The request"
    return ApiError("too-deep", f"{where} nests arrays and objects deeper than {MAX_DEPTH} "
                    "levels.", 400)


def check_depth(value, name=None):
    """``value`` itself, or 400 ``too-deep`` when it nests deeper than MAX_DEPTH."""
    if depth(value) > MAX_DEPTH:
        raise too_deep(name)
    return value


class IdList(list):
    """A list of integer ids given as a JSON array, a native list or ``"1,2,3"``."""


class Search(str):
    """Search text: at most SEARCH_MAX_CHARS characters and SEARCH_MAX_WORDS words, so
    that no search costs more than a few index lookups."""


SEARCH_MAX_CHARS = 200
SEARCH_MAX_WORDS = 10
SEARCH_WORD = re.compile(r"[^\W_]+")


def _to_search(name, value):
    text = _to_str(name, value)
    if len(text) > SEARCH_MAX_CHARS:
        raise invalid_argument(name, f"a search is at most {SEARCH_MAX_CHARS} characters.")
    if len(SEARCH_WORD.findall(text)) > SEARCH_MAX_WORDS:
        raise invalid_argument(name, f"a search is at most {SEARCH_MAX_WORDS} words.")
    return Search(text)


class Attachments(list):
    """A message's attachments: ``[["name", "http(s) URL"], …]`` (extra items dropped)."""


def _to_attachments(name, value):
    items = _to_container(name, value, list)
    for item in items:
        if (not isinstance(item, list) or len(item) < 2 or not all(isinstance(x, str) for x in item[:2])
                or not item[1].lower().startswith(("http://", "https://"))):
            raise invalid_argument(name, 'each attachment is ["name", "http(s) link"].')
    return Attachments(item[:2] for item in items)


class Json:
    """Any JSON value: a string is decoded when it holds JSON, else kept as text."""


def _as_json(value, name=None):
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{") or text in ("true", "false", "null") or text[:1].isdigit():
            try:
                return check_depth(json.loads(text), name)
            except ValueError:
                return value
            except RecursionError:
                raise too_deep(name)
    return check_depth(value, name)


def _to_bool(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise invalid_argument(name, "expected true or false.")


def _to_int(name, value):
    number = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        # ASCII digits only: int() would also take "١٢" and the like
        if text.isascii() and text.lstrip("+-").isdigit() and len(text) <= 20:
            number = int(text)
    if number is None:
        raise invalid_argument(name, "expected an integer.")
    if not INT_MIN <= number <= INT_MAX:
        raise invalid_argument(name, "the integer is out of range.")
    return number


def _to_str(name, value):
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise invalid_argument(name, "expected a string.")


def _to_container(name, value, kind):
    value = _as_json(value, name)
    if isinstance(value, kind):
        return value
    raise invalid_argument(name, f"expected a JSON {'array' if kind is list else 'object'}.")


def _to_ids(name, value):
    value = _as_json(value, name)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        value = [part for part in str(value).split(",") if part.strip()]
    if not isinstance(value, list):
        raise invalid_argument(name, "expected an array of IDs.")
    return IdList(_to_int(name, item) for item in value)


CONVERTERS = {
    bool: _to_bool,
    int: _to_int,
    str: _to_str,
    list: lambda name, value: _to_container(name, value, list),
    dict: lambda name, value: _to_container(name, value, dict),
    IdList: _to_ids,
    Search: _to_search,
    Attachments: _to_attachments,
    Json: lambda name, value: _as_json(value, name),
    typing.Any: lambda name, value: value,
}


def convert(name, annotation, value):
    """Convert one request value to the parameter's annotated type.

    ``X | None`` accepts JSON null / ``"null"`` as None; ``A | B`` tries each in turn."""
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or \
        typing.get_origin(annotation) is typing.Union else (annotation,)
    if type(None) in options and (value is None or (isinstance(value, str) and value.lower() == "null")):
        return None
    last_error = None
    for option in options:
        if option is type(None):
            continue
        converter = CONVERTERS.get(option, CONVERTERS[typing.Any])
        try:
            return converter(name, value)
        except ApiError as error:
            last_error = error
    raise last_error


@dataclass
class Parameter:
    name: str
    annotation: object
    required: bool
    default: object


@dataclass
class ApiFunction:
    """One function of the Web API: its name, the Python function and who owns it."""

    name: str
    fn: typing.Callable
    owner: str = ""
    parameters: list = field(default_factory=list)
    # False for long jobs that commit in batches of their own (clean-data, cron-jobs):
    # the call then holds no transaction open.
    transaction: bool = True
    # True for a function that only reads (a point read, a page, a poll): it runs without
    # a transaction, each statement on its own, which saves the BEGIN and COMMIT (round
    # trips on a server database). A row it writes all the same (a webhook event of a
    # poll) is written in one statement of its own.
    read: bool = False
    # who may call it through a workspace session: AGENT (agents and admins) or ADMIN
    role: str = ADMIN
    # other names of the same function (the names Support Board 3.8 uses on the wire)
    aliases: tuple = ()
    # other spellings of an argument: {"user_ids": ("users_id",)}
    spellings: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.role not in ROLES:
            raise StartupError(f"function {self.name!r}: role must be one of {ROLES}")
        signature = inspect.signature(self.fn)
        hints = typing.get_type_hints(self.fn)
        params = list(signature.parameters.values())
        if not params or params[0].name != "ctx":
            raise StartupError(f"function {self.name!r}: the first parameter must be 'ctx'")
        self.parameters = [
            Parameter(p.name, hints.get(p.name, typing.Any), p.default is inspect.Parameter.empty,
                      None if p.default is inspect.Parameter.empty else p.default)
            for p in params[1:]
        ]
        names = {p.name for p in self.parameters}
        unknown = set(self.spellings) - names
        if unknown:
            raise StartupError(f"function {self.name!r}: spellings for unknown arguments {sorted(unknown)}")

    @property
    def needs_transaction(self):
        return self.transaction and not self.read

    def field_names(self, param):
        """The request fields that carry ``param``, in the order they are looked up."""
        return (param.name, param.name.replace("_", "-"), *self.spellings.get(param.name, ()))

    def may_call(self, role):
        """Whether a workspace user of ``role`` ("agent" or "admin") may call this."""
        return role == ADMIN or self.role == AGENT

    def bind(self, fields):
        """Keyword arguments for ``fn`` from request fields (unknown fields are ignored)."""
        arguments = {}
        for param in self.parameters:
            for key in self.field_names(param):
                if key in fields:
                    value = fields[key]
                    break
            else:
                if param.required:
                    raise missing_argument(param.name)
                continue
            arguments[param.name] = convert(param.name, param.annotation, value)
        return arguments


class FunctionSet:
    """Collects a module's API functions: ``@functions("get-user", role=AGENT)``."""

    def __init__(self):
        self._functions = []

    def __call__(self, name, transaction=True, role=ADMIN, aliases=(), spellings=None, read=False):
        """Register ``fn`` as function ``name``; ``role`` says who may call it through a
        workspace session, ``aliases`` are other names of it, ``spellings`` other
        field names of its arguments; ``read=True`` declares that it only reads (it runs
        without a transaction)."""
        def decorate(fn):
            self._functions.append(dict(name=name, fn=fn, transaction=transaction, read=read, role=role,
                                        aliases=tuple(aliases), spellings=dict(spellings or {})))
            return fn
        return decorate

    def api_functions(self):
        return [ApiFunction(**options) for options in self._functions]

    def hook(self):
        """The module's ``sbcore_register_functions`` implementation:
        ``sbcore_register_functions = functions.hook()``."""
        from .hooks import hookimpl

        def sbcore_register_functions():
            return self.api_functions()
        return hookimpl(sbcore_register_functions)


def plugin_name(pm, plugin):
    return pm.get_name(plugin) or getattr(plugin, "__name__", repr(plugin))


def collect_functions(pm):
    """Call each implementation of ``sbcore_register_functions`` and merge the lists;
    a duplicate name stops start-up naming both owners."""
    functions = {}
    for impl in pm.hook.sbcore_register_functions.get_hookimpls():
        owner = plugin_name(pm, impl.plugin)
        for function in impl.function() or []:
            if not isinstance(function, ApiFunction):
                function = ApiFunction(*function)
            function.owner = owner
            for name in (function.name, *function.aliases):
                if name in functions:
                    raise StartupError(
                        f"the function {name!r} is registered twice: by "
                        f"{functions[name].owner!r} and by {owner!r}")
                functions[name] = function
    return functions


def canonical_functions(functions):
    """The registry without its aliases: one entry per function, by its own name."""
    return {name: function for name, function in functions.items() if function.name == name}


def collect_list(pm, hook_name, key=None, **arguments):
    """Merge the lists that every implementation of a registration hook returns (each
    given those of ``arguments`` it takes). With ``key``, a duplicate stops start-up
    naming both owners."""
    items, owners = [], {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        owner = plugin_name(pm, impl.plugin)
        given = {name: value for name, value in arguments.items() if name in impl.argnames}
        for item in impl.function(**given) or []:
            if key is not None:
                name = key(item)
                if name in owners:
                    raise StartupError(f"{hook_name}: {name!r} is registered twice: by "
                                       f"{owners[name]!r} and by {owner!r}")
                owners[name] = owner
            items.append(item)
    return items
