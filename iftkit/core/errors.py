"""One exception type for problems the user can fix (bad recipe, bad data, missing model).

The CLI prints these as a single line and exits non-zero; anything else is a bug and keeps
its traceback.
"""


class IftkitError(Exception):
    """A user-facing error: the message names the file/line/key and what was expected."""

    exit_code = 2
