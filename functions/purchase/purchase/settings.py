import os
from datetime import timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class LedgerSettings(BaseModel):
    """Where tickets and seats live, and how long tickets wait before the reconciler looks at them."""

    model_config = ConfigDict(frozen=True)

    queue_url: str = Field(alias="QUEUE_URL", min_length=1)
    gigs_table_name: str = Field(alias="GIGS_TABLE_NAME", min_length=1)
    tickets_table_name: str = Field(alias="TICKETS_TABLE_NAME", min_length=1)
    reconcile_after_seconds: PositiveInt = Field(alias="RECONCILE_AFTER_SECONDS")
    ticket_retention_days: PositiveInt = Field(alias="TICKET_RETENTION_DAYS")

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.reconcile_after_seconds)

    @property
    def retention_after_show(self) -> timedelta:
        return timedelta(days=self.ticket_retention_days)


class Settings(LedgerSettings):
    """PurchaseFunction's configuration, read from the environment the template declares."""

    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
