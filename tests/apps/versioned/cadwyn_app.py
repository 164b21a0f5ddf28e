"""A Cadwyn-versioned FastAPI app (header `x-api-version`), mounted under /execution of a plain FastAPI app.

Three versions: 2023-01-01 had no addresses endpoint and still served the old /users/{user_id}/legacy-profile;
2024-02-01 added addresses; 2025-01-01 removed legacy-profile (the head has no such route).
"""

from cadwyn import Cadwyn, HeadVersion, Version, VersionBundle, VersionChange, VersionedAPIRouter, endpoint
from fastapi import FastAPI

users = VersionedAPIRouter(prefix="/users", tags=["users"])


@users.get("/{user_id}")
async def get_user(user_id: int) -> dict:
    return {"id": user_id}


@users.get("/{user_id}/addresses")
async def get_addresses(user_id: int) -> list:
    return []


@users.post("")
async def create_user() -> dict:
    return {}


@users.only_exists_in_older_versions
@users.get("/{user_id}/legacy-profile")
async def legacy_profile(user_id: int) -> dict:
    return {}


class AddAddresses(VersionChange):
    description = "Users have addresses."
    instructions_to_migrate_to_previous_version = (endpoint("/users/{user_id}/addresses", ["GET"]).didnt_exist,)


class RemoveLegacyProfile(VersionChange):
    description = "The legacy profile is gone."
    instructions_to_migrate_to_previous_version = (endpoint("/users/{user_id}/legacy-profile", ["GET"]).existed,)


versions = VersionBundle(
    HeadVersion(),
    Version("2025-01-01", RemoveLegacyProfile),
    Version("2024-02-01", AddAddresses),
    Version("2023-01-01"),
)

execution = Cadwyn(versions=versions, title="execution API")
execution.generate_and_include_versioned_routers(users)


@execution.get("/health")
async def health() -> str:
    return "ok"


app = FastAPI()
app.mount("/execution", execution)


@app.get("/")
async def root() -> str:
    return "root"
