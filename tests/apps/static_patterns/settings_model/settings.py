import json
from dataclasses import dataclass, field

from pydantic import BaseModel, Field


class RunSettings(BaseModel):
    host: str = "127.0.0.1"
    root_path: str = ""


class AppConfig(BaseModel):
    name: str
    run: RunSettings = Field(default_factory=RunSettings)


@dataclass
class Paths:
    api: str = "/api"
    admin: str = field(default="/admin")
    plugins: list = field(default_factory=list)


def load():
    settings = {"name": json.loads('"demo"')}  # read from a file in real code: not known statically
    return AppConfig(**settings)


config = load()
paths = Paths(api="/api/v2")
