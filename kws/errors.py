"""The one exception type the command line turns into a user-facing message."""

from __future__ import annotations


class KwsError(Exception):
    """A problem the user can fix (bad input file, unwritable output, missing library).

    The CLI prints ``str(error)`` as the single line ``kws: error: <message>`` and exits with
    status 2, without a traceback. Raise it only for conditions the user caused or can act
    on; programming errors should stay ordinary exceptions so their traceback is visible.
    """
