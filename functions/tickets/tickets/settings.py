import os
from dataclasses import dataclass, field, fields
from typing import Self


@dataclass(frozen=True)
class Settings:
    """The function's configuration, read from the environment the template declares.

    A dataclass, not a pydantic model: this function validates no input of its own (a ticket id is checked by
    its shape), and importing pydantic would be about a fifth of its cold start.
    """

    tickets_table_name: str = field(metadata={"env": "TICKETS_TABLE_NAME"})

    @classmethod
    def from_env(cls) -> Self:
        """The settings, or a ValueError naming the variable that is missing: a misconfigured deploy fails loudly."""
        values = {}
        for setting in fields(cls):
            variable = setting.metadata["env"]
            values[setting.name] = os.environ.get(variable, "")
            if not values[setting.name]:
                raise ValueError(f"{variable} must be set (template.yml declares it)")
        return cls(**values)
