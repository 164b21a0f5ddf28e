"""The one exception type for user mistakes: the CLI prints its message, never a traceback."""


class StranglerError(Exception):
    """A problem with the user's input (a file, a manifest, an option) that they can fix."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: in a notebook too, a user mistake is one line."""
        return [f"strangler: {self}"]
