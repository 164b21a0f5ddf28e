from fastapi import APIRouter

router = APIRouter(prefix="/photos")


@router.get("/{n:int}")
def get_photo(trip_id: int, n: int):
    return {"trip": trip_id, "n": n}


@router.delete("/{n:int}")
def delete_photo(trip_id: int, n: int):
    return None
