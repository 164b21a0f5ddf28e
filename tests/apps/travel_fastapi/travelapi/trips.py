from fastapi import APIRouter

from . import photos

router = APIRouter(prefix="/trips", tags=["trips"])


@router.get("")
def list_trips():
    return []


@router.post("")
def create_trip():
    return {}


@router.get("/{trip_id:int}")
def get_trip(trip_id: int):
    return {"id": trip_id}


@router.put("/{trip_id:int}")
def put_trip(trip_id: int):
    return {"id": trip_id}


@router.get("/{slug}")
def trip_by_slug(slug: str):
    return {"slug": slug}


@router.get("/me")
def my_trips():  # shadowed: Starlette tries routes in order and /{slug} comes first
    return []


router.include_router(photos.router, prefix="/{trip_id:int}")
