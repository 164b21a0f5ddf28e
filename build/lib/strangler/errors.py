"""The one exception type for user mistakes: the CLI prints its message, never a traceback."""


class StranglerError(Exception):
    """A problem with the user's input (a file, a manifest, an option) that they can fix."""
