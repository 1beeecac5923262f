"""Model files delivered as counter artifacts, so that a device needs no internet for weights.

The files go into the counter's ZIP under ``models/``; the nucleus unpacks it into the component's
read-only ``{artifacts:decompressedPath}/count_people/``. The counter finds them through
``COUNT_PEOPLE_<KEY>`` variables that the recipe's Run step sets (``Setenv``), not through configuration
values: recipe variables are interpolated in lifecycle steps by both nuclei (nucleus lite:
modules/recipe-runner/src/runner.c, Setenv values go through ggl_substitute_escape), but in
configuration values the Java nucleus resolves them only with ``interpolateComponentConfiguration``
(default false; component recipe reference, "Recipe variables"). The keys whose files are packaged
leave the DefaultConfiguration, because component configuration takes precedence over the environment
(count_people/greengrass.py).

Counter artifacts rather than a separate model component (AWS's DLR/TFLite "ModelStore" pattern):
nucleus lite resolves no cross-component variables such as ``{com.example.Model:artifacts:path}``
(interpolation.c handles only kernel/iot/work/artifacts/configuration of the component itself), and the
counter must run on both nuclei.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from ggctl.errors import GgctlError

MODELS_DIR = "models"
#: Where the unpacked counter ZIP puts the model folder (Greengrass unarchives into a folder named after the ZIP).
DEVICE_DIR = "{artifacts:decompressedPath}/count_people/" + MODELS_DIR
ENV_PREFIX = "COUNT_PEOPLE_"
#: Model file suffixes the counter's detectors load from a file (count_people/detectors).
MODEL_SUFFIXES = (".onnx", ".cfg")


@dataclass(frozen=True)
class ModelFiles:
    """The model files given to ``ggctl build`` (any may be None: nothing packaged for that key)."""

    model: Optional[Path] = None
    params: Optional[Path] = None
    labels: Optional[Path] = None

    def files(self) -> dict[str, Path]:
        """{counter Settings key: local file} of the files to package, checked to exist."""
        given = {key: path for key, path in (("model", self.model), ("params", self.params),
                                             ("labels", self.labels)) if path is not None}
        for key, path in given.items():
            if not path.is_file():
                raise GgctlError(f"--{key} {path}: no such file")
        if self.model is not None and self.model.suffix.lower() not in MODEL_SUFFIXES:
            raise GgctlError(f"--model {self.model}: expected an ONNX (.onnx) or Darknet (.cfg) file; for a GluonCV "
                             "model zoo name package its weights with --params and set model in the configuration")
        names = [path.name for path in given.values()]
        if len(set(names)) != len(names):
            raise GgctlError("--model, --params and --labels must have different file names")
        return given

    def zip_entries(self) -> list[tuple[str, Path]]:
        """(name in the counter ZIP, local file) of each packaged file."""
        return [(f"{MODELS_DIR}/{path.name}", path) for path in self.files().values()]

    def names(self) -> dict[str, str]:
        """{counter Settings key: file name} of the packaged files, as artifacts.json records them."""
        return {key: path.name for key, path in self.files().items()}


NO_MODELS = ModelFiles()


def environment(names: Mapping[str, str]) -> dict[str, str]:
    """Run Setenv entries pointing the counter at the unpacked model files ({key: file name})."""
    return {f"{ENV_PREFIX}{key.upper()}": f"{DEVICE_DIR}/{name}" for key, name in sorted(names.items())}


def fetch_gluoncv(name: str, target: Path) -> Path:
    """Saves the pretrained weights of GluonCV model ``name`` (downloaded from the model zoo) to ``target``."""
    try:
        from gluoncv import model_zoo
    except ImportError:
        raise GgctlError("fetch-model needs GluonCV and MXNet: pip install -e '.[mxnet]' (Python <= 3.11)") from None
    try:
        net = model_zoo.get_model(name, pretrained=True)
    except ValueError as exc:  # unknown name: GluonCV lists the valid ones
        raise GgctlError(f"unknown GluonCV model {name!r}: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise GgctlError(f"cannot download the weights of {name} ({exc}); run fetch-model where the GluonCV "
                         "model zoo is reachable, then copy the file") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    net.save_parameters(str(partial))
    partial.replace(target)
    return target
