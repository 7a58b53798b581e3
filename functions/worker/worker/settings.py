import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """The function's configuration, read from the environment the template declares."""

    model_config = ConfigDict(frozen=True)

    # The template's SenderEmail parameter already has this pattern; SES refuses an unverified sender.
    sender_email: str = Field(alias="SENDER_EMAIL", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
    dead_letter_queue_url: str = Field(alias="DEAD_LETTER_QUEUE_URL", min_length=1)
    tickets_table_name: str = Field(alias="TICKETS_TABLE_NAME", min_length=1)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))
