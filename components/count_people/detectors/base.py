"""The one small interface every detector backend implements."""

from __future__ import annotations

import copy
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from count_people.config import Settings
from count_people.detectors.catalog import catalog_defaults
from count_people.errors import UserError

#: Field metadata of a detector config key that applies to a loaded network (no reload needed).

ConfigT = TypeVar("ConfigT", bound="DetectorConfig")
DetectorT = TypeVar("DetectorT", bound="Detector")


@dataclass(frozen=True)
class Detection:
    """One detected object, box in original-frame pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1


def tall_enough(detections: list[Detection], min_height: float) -> list[Detection]:
    """``detections`` at least ``min_height`` pixels tall: a scene's far-away, reflected or pictured people are
    smaller than anyone it should count, whatever the model's confidence in them."""
    if min_height <= 0:
        return detections
    return [d for d in detections if d.box[3] - d.box[1] >= min_height]


@dataclass(frozen=True)
class DetectorConfig:
    """The part of ``Settings`` a backend reads, typed and frozen; fields are named like the Settings keys.

    Whether a change of a field applies to the loaded network or loads a new one beside it is declared with
    the key (``Part.MODEL`` in count_people/config/settings.py), for every backend alike.
    """

    model: str
    threshold: float
    classes: tuple[str, ...]
    min_box_height: float

    @classmethod
    def from_settings(cls: type[ConfigT], settings: Settings) -> ConfigT:
        """The backend's keys of ``settings``, with the model catalog's values for keys left at their defaults."""
        values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(cls)}
        values.update({key: value for key, value in catalog_defaults(settings).items() if key in values})
        return cls(**values)


class Detector(ABC):
    """A backend turns a decoded BGR frame into detections of the configured classes.

    Construction only records settings; ``load`` does the slow work (weights, graph
    compilation) so that start-up errors are reported before the first frame.
    """

    #: The config this backend is built from (``config_type.from_settings``).
    config_type: ClassVar[type[DetectorConfig]] = DetectorConfig
    #: Seconds ``load`` took (set by the CountingLoop; exported as a metric).
    load_seconds: float = 0.0
    #: The arithmetic the loaded network runs in; INT8 backends set "int8" once it runs (fp32 after a fallback).
    precision: str = "fp32"
    #: With ``precision: auto``: what was measured (a ``precision.PrecisionChoice``), None until then.
    precision_choice: Any = None

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config

    def retuned(self: DetectorT, config: DetectorConfig) -> DetectorT:
        """This loaded detector with new live values (threshold, classes, ...): a copy sharing the network,
        so the running one is never changed under a frame in flight."""
        clone = copy.copy(self)
        clone.config = config
        return clone

    @property
    def name(self) -> str:
        """Model identifier reported in every message."""
        return self.config.model

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


class StagedDetector(Detector):
    """A detector split into its three stages, so a benchmark can tell where a frame's time goes.

    ``detect`` is exactly ``postprocess(forward(inputs), context)`` with ``inputs, context =
    prepare(image)``, less the boxes below ``min_box_height``; timing the stages therefore times the
    production path, not a copy of it.
    """

    @abstractmethod
    def prepare(self, image: np.ndarray) -> tuple[Any, Any]:
        """Network input for a BGR frame, and what ``postprocess`` needs to map boxes back."""

    @abstractmethod
    def forward(self, inputs: Any) -> Any:
        """Run the network alone; outputs are ready (synchronised) when this returns."""

    @abstractmethod
    def postprocess(self, outputs: Any, context: Any) -> list[Detection]:
        """Decode outputs into detections of the counted classes in original-frame pixels."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        inputs, context = self.prepare(image)
        return tall_enough(self.postprocess(self.forward(inputs), context),
                           self.config.min_box_height * image.shape[0])
