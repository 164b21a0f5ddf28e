"""Random request paths and methods aimed at the test apps' rules: literal words, ids of every class, near misses."""
from __future__ import annotations

import random
import re
import uuid

WORDS = ["trips", "me", "photos", "admin", "users", "by-region", "eu", "us", "12", "notes", "by-hex", "places",
         "health", "2024", "summary", "v3", "v", "status", "prices", "codes", "files", "raw", "static", "api",
         "reports", "legacy", "old", "v2", "ping", "docs", "redoc", "openapi.json", "x", "fr"]
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def segment(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.40:
        return rng.choice(WORDS)
    if kind < 0.62:
        return str(rng.choice([0, 1, 7, 12, 42, 1234, 2024, 99999, 10 ** 12]))
    if kind < 0.66:
        return "0" * rng.randint(1, 3) + str(rng.randint(0, 99))
    if kind < 0.72:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if kind < 0.74:
        return str(uuid.UUID(int=rng.getrandbits(128))).upper()
    if kind < 0.80:
        return "%0*x" % (rng.choice([6, 8, 12, 32]), rng.getrandbits(128))
    if kind < 0.84:
        return f"{rng.randint(0, 99)}.{rng.randint(0, 99)}"
    if kind < 0.88:
        return f"{rng.randint(1990, 2030)}-{rng.randint(1, 12)}"
    if kind < 0.90:
        return ""
    if kind < 0.93:
        return rng.choice(["%31%32", "caf%C3%A9", "a%2Fb", "{n}", "%7Bn%7D"])
    return rng.choice(["abc", "deadbeef", "ab", "ZZ", "x1"])


PARAM = re.compile(r"<[^<>]*>|\{[^{}]*\}")


def paths(n: int, seed: int = 1, templates: list[str] = ()) -> list[tuple[str, str]]:
    """n (method, path) pairs: half random segments, half a template (rule) with random parameter values."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if templates and rng.random() < 0.5:
            path = PARAM.sub(lambda _: segment(rng), rng.choice(templates))
        else:
            depth = rng.choice([1, 1, 2, 2, 2, 3, 3, 3, 4, 5])
            path = "/" + "/".join(segment(rng) for _ in range(depth))
        if rng.random() < 0.1:
            path += "/"
        out.append((rng.choice(METHODS), path))
    return out
