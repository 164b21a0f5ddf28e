class Settings:
    API_PREFIX: str = "/api"


settings = Settings()
