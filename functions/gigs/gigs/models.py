import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, computed_field
from pydantic.alias_generators import to_camel


class Gig(BaseModel):
    """A gig as the catalogue stores it and the API returns it.

    The API's shape is a contract: camelCase field names and types as fourTheorem's TimelessMusic workshop
    frontend reads them (its `Gig` type), plus `ticketsLeft`. The seat counter `sold` stays inside.
    """

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
    sold: int = Field(default=0, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tickets_left(self) -> int:
        """Seats not yet sold: a moment stale at worst (the purchase is the authority)."""
        return max(self.capacity - self.sold, 0)
