"""Settings of a deployment, outside the trees the tests read: the imported apps see these values."""


class settings:  # noqa: N801
    LIMIT = None
    SCOPES = False
    STATS = False
    EXTERNAL_PREFIX = "/ext"
