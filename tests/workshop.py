"""fourTheorem's TimelessMusic workshop frontend, as our API's contract: the shape of a gig it reads.

Its `Gig` type (frontend/src/types.ts in the workshop), field by field, with the JSON type it expects.
`GET /gigs` answers a bare array of these; `GET /gigs/{id}` one. Our gigs carry `ticketsLeft` too.
"""

WORKSHOP_GIG: dict[str, type] = {
    "id": str,
    "bandName": str,
    "city": str,
    "year": str,
    "date": str,
    "venue": str,
    "collectionPointMap": str,
    "collectionPoint": str,
    "collectionTime": str,
    "originalDate": str,
    "capacity": int,
    "description": str,
    "image": str,
    "price": str,
}
