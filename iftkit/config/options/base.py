"""What every recipe section shares: unknown keys refused, assignments validated."""

from pydantic import BaseModel, ConfigDict

from iftkit.core.paths import name_problem


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def checked_name(v: str) -> str:
    """A display name that becomes folder and artifact names (core/paths.safe_name): any text but a path."""
    problem = name_problem(v)
    if problem:
        raise ValueError(problem)
    return v
