"""Errors that end the program with a one-line message instead of a traceback."""


class UserError(Exception):
    """Bad input or environment the user can fix; the message says what and how."""
