import uuid

from fastapi import APIRouter

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/{user_id:uuid}")
def get_user(user_id: uuid.UUID):
    return {"id": str(user_id)}


@router.patch("/{user_id:uuid}")
def patch_user(user_id: uuid.UUID):
    return {"id": str(user_id)}
