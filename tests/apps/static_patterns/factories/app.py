from fastapi import FastAPI


def create_api():
    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @api.get("/items")
    def items():
        return []

    return api


def create_app():
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/api", create_api())
    return app
