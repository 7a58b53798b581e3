import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """The function's configuration, read from the environment the template declares."""

    model_config = ConfigDict(frozen=True)

    tickets_table_name: str = Field(alias="TICKETS_TABLE_NAME", min_length=1)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))
