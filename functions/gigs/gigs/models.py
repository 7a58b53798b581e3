import datetime as dt

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Gig(BaseModel):
    """A gig as the catalogue stores it and the API returns it (camelCase, as the frontends read it)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)

    id: str
    band_name: str
    city: str
    year: str
    date: dt.date
    venue: str
    collection_point_map: str
    collection_point: str
    collection_time: str
    original_date: dt.date
    capacity: int
    description: str
    image: str
    price: str
