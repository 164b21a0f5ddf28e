class BaseConfig:
    API_PREFIX = "/api"
    USER_URL_PREFIX = API_PREFIX + "/users"
    DEBUG = False


class DevConfig(BaseConfig):
    ADMIN_PREFIX = "/admin"
