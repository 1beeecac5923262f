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

Unless a model file is packaged, the build also exports the counter's default GluonCV network to ONNX
(``with_onnx_export``): a host without a Python that MXNet 1.9.1 installs on (3.12 and newer) runs that
export on ONNX Runtime (install.sh, count_people/detectors/gluoncv_onnx.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, Optional

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
    onnx_export: Optional[Path] = None  # made by with_onnx_export, not given on the command line

    def files(self) -> dict[str, Path]:
        """{counter Settings key: local file} of the files to package, checked to exist."""
        given = {key: path for key, path in (("model", self.model), ("params", self.params),
                                             ("labels", self.labels), ("onnx_export", self.onnx_export))
                 if path is not None}
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


def with_onnx_export(models: ModelFiles, cache: Path, report: Callable[[str], None]) -> ModelFiles:
    """``models`` plus the ONNX export of the default GluonCV network, exported here (MXNet) once per weights.

    Weights: the packaged ``--params`` (a .params file), else the pretrained ones (GluonCV's model cache or
    download). Where this machine cannot export, the build goes on without it and says so in one line.
    """
    from count_people.config import Settings

    network = Settings().model
    if models.model is not None or models.onnx_export is not None:
        return models  # the counter runs the packaged model file
    params = models.params if models.params is not None and models.params.suffix == ".params" else None
    try:
        import gluoncv
        import mxnet
        import onnx
        from count_people.detectors.gluoncv_onnx import export
    except ImportError as exc:
        report(f"no ONNX export of {network} ({exc}; pip install -e '.[mxnet]', Python <= 3.11): hosts without "
               "a Python 3.9 to 3.11 cannot run the default network")
        return models
    digest = hashlib.sha256(f"{network} {mxnet.__version__} {gluoncv.__version__} {onnx.__version__}".encode())
    digest.update(params.read_bytes() if params is not None else b"pretrained")
    target = cache / digest.hexdigest()[:16] / f"{network}.onnx"
    if not target.is_file():
        try:
            export(network, None if params is None else str(params), target)
        except Exception as exc:  # download (requests, urllib), MXNet or exporter errors
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            report(f"no ONNX export of {network} ({type(exc).__name__}: {first_line}); pass its weights with "
                   f"--params FILE ('ggctl fetch-model {network}' saves them): hosts without a Python 3.9 to 3.11 "
                   "cannot run the default network")
            return models
        report(f"exported {network} to {target}")
    return replace(models, onnx_export=target)


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
