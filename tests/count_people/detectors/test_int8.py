"""INT8: calibration on real frames, the cache, the calibrate command, and the one-line FP32 fallback."""

from __future__ import annotations

import logging
import os
import threading
import time

import cv2
import numpy as np
import pytest
from count_people.cli import main as count_people
from count_people.config import Part, Settings, keys_rebuilding
from count_people.detectors import create_detector
from count_people.detectors.int8 import calibration_images
from count_people.detectors.onnxruntime import OnnxRuntimeDetector
from count_people.errors import UserError
from gluoncv_params import FAST_GLUONCV_MODEL, make_gluoncv_params
from support import shared_path

NANODET = "models/nanodet-m/nanodet_m_416_coco.onnx"
VIDEO = "footage/TUD-Stadtmitte/TUD-Stadtmitte.mp4"


def frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(shared_path(VIDEO)))
    images = [capture.read()[1] for _ in range(count)]
    capture.release()
    return images


def settings(tmp_path, **changes) -> Settings:
    base = {"detector": "onnxruntime", "model": str(shared_path(NANODET)), "model_cache": str(tmp_path / "cache"),
            "calibration_frames": 8, "threshold": 0.35}
    return Settings().updated({**base, **changes})


def loaded(config: Settings):
    detector = create_detector(config)
    detector.load()
    return detector


@pytest.mark.shared
def test_calibrate_makes_the_cache_that_the_counter_then_loads(tmp_path, capsys):
    pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")
    folder = tmp_path / "calibration"
    folder.mkdir()
    for index, image in enumerate(frames(8)):
        cv2.imwrite(str(folder / f"{index:03d}.jpg"), image)
    args = ["--detector", "onnxruntime", "--model", str(shared_path(NANODET)), "--model-cache",
            str(tmp_path / "cache"), "--calibration-source", str(folder)]
    assert count_people(["calibrate", *args]) == 0
    assert "INT8 model in" in capsys.readouterr().out
    (entry,) = (tmp_path / "cache").iterdir()
    assert (entry / "model.onnx").is_file()

    # No calibration frames reachable now: loading must come from the cache.
    int8 = loaded(settings(tmp_path, precision="int8", calibration_source=str(tmp_path / "absent")))
    fp32 = loaded(settings(tmp_path))
    assert (int8.precision, fp32.precision) == ("int8", "fp32")
    for image in frames(3):
        expected, got = fp32.detect(image), int8.detect(image)
        assert len(expected) >= 3 and abs(len(got) - len(expected)) <= 1
        assert np.mean([d.score for d in got]) == pytest.approx(np.mean([d.score for d in expected]), abs=0.1)


@pytest.mark.shared
def test_int8_needs_calibration_frames_it_can_read(tmp_path):
    pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")
    (tmp_path / "empty").mkdir()
    for source in ("absent.mp4", "empty"):
        with pytest.raises(UserError, match="no calibration frames could be read") as caught:
            loaded(settings(tmp_path, precision="int8", calibration_source=str(tmp_path / source)))
        assert "\n" not in str(caught.value)


def test_a_live_frame_file_gives_each_new_frame_once(tmp_path):
    frame = tmp_path / "frame.jpg"
    stop = threading.Event()

    def grabber() -> None:  # replaces the file atomically, as gst-grabber does
        for value in range(1, 6):
            cv2.imwrite(str(tmp_path / "next.jpg"), np.full((48, 64, 3), value * 40, np.uint8))
            os.replace(tmp_path / "next.jpg", frame)
            time.sleep(0.2)

    writer = threading.Thread(target=grabber)
    writer.start()
    images = calibration_images(str(frame), 3, wait=10, stop=stop)
    writer.join()
    assert len(images) == 3 and len({int(image.mean()) for image in images}) == 3


def test_precision_reloads_the_detector_and_calibration_keys_do_not():
    keys = keys_rebuilding(Part.MODEL)
    assert "precision" in keys and "model_defaults" in keys
    assert not keys & {"calibration_source", "calibration_frames", "model_cache", "source"}


@pytest.mark.shared
def test_a_runtime_that_cannot_quantize_falls_back_to_fp32_with_one_warning(tmp_path, monkeypatch, caplog):
    pytest.importorskip("onnxruntime", reason="the onnxruntime extra is not installed")

    def unsupported(self, blobs, entry):
        raise RuntimeError("QLinearConv is not implemented for this CPU")

    monkeypatch.setattr(OnnxRuntimeDetector, "quantize", unsupported)
    with caplog.at_level(logging.WARNING):
        detector = loaded(settings(tmp_path, precision="int8", calibration_source=str(shared_path(VIDEO))))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "running FP32" in warnings[0].getMessage()
    assert detector.precision == "fp32" and len(detector.detect(frames(1)[0])) >= 3


@pytest.mark.shared
def test_the_opencv_backend_refuses_int8_in_one_line(tmp_path):
    with pytest.raises(UserError, match="fp32 only") as caught:
        loaded(settings(tmp_path, detector="opencv", precision="int8"))
    assert "\n" not in str(caught.value)


@pytest.mark.shared
def test_gluoncv_int8_is_quantized_once_and_then_loaded_from_the_cache(tmp_path):
    params = make_gluoncv_params(FAST_GLUONCV_MODEL, tmp_path / "random.params")
    config = Settings().updated({"model": FAST_GLUONCV_MODEL, "params": str(params), "precision": "int8",
                                 "model_cache": str(tmp_path / "cache"), "calibration_frames": 2,
                                 "calibration_source": str(shared_path(VIDEO)), "threshold": 0.0})
    detector = loaded(config)
    assert detector.precision == "int8"
    (entry,) = (tmp_path / "cache").iterdir()
    assert {p.name for p in entry.iterdir()} == {"net-symbol.json", "net-0000.params"}
    assert '"_contrib_quantized' in (entry / "net-symbol.json").read_text()  # INT8 operators in the graph
    again = loaded(config.updated({"calibration_source": str(tmp_path / "absent")}))  # from the cache
    image = frames(1)[0]
    ids, scores, boxes = again.forward(again.prepare(image)[0])
    assert again.precision == "int8" and len(ids) == len(scores) == len(boxes) > 0
    assert np.isfinite(scores).all()
