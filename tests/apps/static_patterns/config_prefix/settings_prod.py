EXTERNAL_PREFIX = "/partners"
