"""The one small interface every detector backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from count_people.config import Settings
from count_people.errors import UserError


@dataclass(frozen=True)
class Detection:
    """One detected object, box in original-frame pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1


class Detector(ABC):
    """A backend turns a decoded BGR frame into detections of the configured classes.

    Construction only records settings; ``load`` does the slow work (weights, graph
    compilation) so that start-up errors are reported before the first frame.
    """

    #: Settings keys whose change requires building a new detector (others apply live).
    reload_keys: Sequence[str] = ("detector", "model", "params", "context", "input_size")
    #: Seconds ``load`` took (set by the Counter; exported as a metric).
    load_seconds: float = 0.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def name(self) -> str:
        """Model identifier reported in every message."""
        return self.settings.model

    @property
    @abstractmethod
    def class_names(self) -> Sequence[str]:
        """All labels the loaded model can emit (valid values of ``classes``)."""

    @abstractmethod
    def load(self) -> None:
        """Load weights and prepare the network; raise UserError on bad input."""

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[Detection]:
        """Detect objects in a BGR uint8 image; return only the counted classes above threshold."""

    def check_classes(self, classes: Sequence[str]) -> None:
        """Fail with the list of valid names when a class is unknown to the loaded model."""
        unknown = [c for c in classes if c not in self.class_names]
        if unknown:
            raise UserError(
                f"unknown class {', '.join(map(repr, unknown))} for model {self.name}; "
                f"valid classes: {', '.join(self.class_names)}"
            )
