"""The one exception type for expected user errors, shared by all three packages."""


class UserError(Exception):
    """An expected, user-facing error: the CLI prints its message on one line and exits non-zero."""
