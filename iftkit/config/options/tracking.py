"""W&B options (recipe section `tracking`): read by iftkit/tracking.py."""

from typing import Literal, Optional

from pydantic import Field

from iftkit.config.options.base import Section


class TrackingConfig(Section):
    project: str = "iftkit"
    group: Optional[str] = None
    name: Optional[str] = None
    tags: list[str] = Field(default_factory=list)
    # auto: online when W&B credentials exist, offline otherwise
    mode: Literal["auto", "online", "offline", "disabled"] = "auto"
    dir: Optional[str] = None
