"""Errors of the domain. Knows nothing of HTTP frameworks: the web layer maps
``ApiError.status`` to a response, the in-process client raises it as is."""


class ApiError(Exception):
    """A failure with a documented error code, a sentence for people and an HTTP status."""

    def __init__(self, code, message, status=400, remote_status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        # for a 502: the outside service's own HTTP status (None: it was not reached)
        self.remote_status = remote_status

    def __repr__(self):
        return f"ApiError({self.code!r}, {self.message!r}, {self.status})"


class StartupError(Exception):
    """The configuration or the set of plugins cannot make a working server."""


def missing_argument(name):
    error = ApiError("missing-argument", f"The argument '{name}' is required.", 400)
    error.argument = name  # Support Board's dialect names it in its own sentence
    return error


def invalid_argument(name, why):
    return ApiError("invalid-argument", f"The argument '{name}' is invalid: {why}", 400)


def not_found(code, message):
    return ApiError(code, message, 404)


def user_not_found(user_id):
    return ApiError("user-not-found", f"No user has the ID {user_id}.", 404)
