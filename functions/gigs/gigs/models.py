import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self


@dataclass(frozen=True)
class Gig:
    """A gig as the catalogue stores it and the API returns it.

    The API's shape is a contract: camelCase field names and types as fourTheorem's TimelessMusic workshop
    frontend reads them (its `Gig` type), plus `ticketsLeft`. The seat counter `sold` stays inside. A
    dataclass, not a pydantic model: the catalogue is our own data, and pydantic's import would be about a
    fifth of this function's cold start.
    """

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
    sold: int = 0

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        """A gig from its catalogue item (camelCase, numbers as DynamoDB returns them); KeyError if one is missing."""
        return cls(
            id=str(item["id"]),
            band_name=str(item["bandName"]),
            city=str(item["city"]),
            year=str(item["year"]),
            date=dt.date.fromisoformat(item["date"]),
            venue=str(item["venue"]),
            collection_point_map=str(item["collectionPointMap"]),
            collection_point=str(item["collectionPoint"]),
            collection_time=str(item["collectionTime"]),
            original_date=dt.date.fromisoformat(item["originalDate"]),
            capacity=int(item["capacity"]),
            description=str(item["description"]),
            image=str(item["image"]),
            price=str(item["price"]),
            sold=int(item.get("sold", 0)),
        )

    @property
    def tickets_left(self) -> int:
        """Seats not yet sold: a moment stale at worst (the purchase is the authority)."""
        return max(self.capacity - self.sold, 0)

    def to_json(self) -> dict[str, Any]:
        """The gig as the API answers it: camelCase, dates as ISO strings, `ticketsLeft`, no `sold`."""
        fields = {_camel(name): value for name, value in asdict(self).items() if name != "sold"}
        dates = {key: value.isoformat() for key, value in fields.items() if isinstance(value, dt.date)}
        return {**fields, **dates, "ticketsLeft": self.tickets_left}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
