from dataclasses import dataclass
from typing import Optional


@dataclass
class Completion:
    """One judge response: text (None when every attempt failed) and what it cost."""

    text: Optional[str]
    error: Optional[str] = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    cached: bool = False
