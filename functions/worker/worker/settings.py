import os
from typing import Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class Settings(BaseModel):
    """The function's configuration, read from the environment the template declares."""

    model_config = ConfigDict(frozen=True)

    sender_email: EmailStr = Field(alias="SENDER_EMAIL")
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
    dead_letter_queue_url: str = Field(alias="DEAD_LETTER_QUEUE_URL", min_length=1)
    tickets_table_name: str = Field(alias="TICKETS_TABLE_NAME", min_length=1)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))
