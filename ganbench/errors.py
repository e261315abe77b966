"""The one error a user sees as it is: bad input or an environment problem, named precisely (exit code 2)."""
from __future__ import annotations


class UserError(Exception):
    """Bad input (a suite, an option, a results folder) or environment: the message is meant for the user as it is."""
