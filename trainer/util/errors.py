"""Errors the user can fix from the message alone (bad input, a busy or damaged workdir).

The entry point prints these as one line and exits non-zero; anything else is a bug and keeps
its traceback.
"""


class UserError(Exception):
    """Raised for a problem with the user's input, files or setup; the message says what to do."""
