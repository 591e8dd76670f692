"""A statistic with its interval: what every estimate in iftkit returns (core/stats.py, core/compare.py)."""

from dataclasses import dataclass
from typing import Optional

MIN_FOR_CI = 5  # below this a bootstrap interval is an artefact of resampling a handful of values


@dataclass
class Estimate:
    """A statistic with its percentile-bootstrap interval; value None = not measurable."""

    value: Optional[float]
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    n: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n, "note": self.note}

    def fmt(self, digits: int = 2) -> str:
        if self.value is None:
            return "n/a"
        if self.ci_low is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"
