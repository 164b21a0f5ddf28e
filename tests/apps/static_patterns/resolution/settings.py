API_PREFIX = "/local"
