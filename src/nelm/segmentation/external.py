"""Optional external segmentation backends, used only when installed *and* their weights are local.

:class:`TotalSegmentatorSegmenter` runs TotalSegmentator (Wasserthal et al., Radiol Artif Intell
2023;5:e230024; Apache-2.0) in a subprocess on a temporary NIfTI copy of the CT and reads the
multi-label output back. nelm never downloads anything: the backend counts as available only
when

* the ``totalsegmentator`` Python package is importable and its ``TotalSegmentator`` command is
  on ``PATH``, and
* the nnU-Net weights of the chosen model are present under TotalSegmentator's weights folder,
  looked up as TotalSegmentator itself does (``totalsegmentator/config.py``):
  ``$TOTALSEG_WEIGHTS_PATH``, else ``$TOTALSEG_HOME_DIR/nnunet/results``, else
  ``~/.totalsegmentator/nnunet/results``. Each model is a ``Dataset<id>_…`` folder holding a
  ``checkpoint_final.pth``: ``--fast`` (3 mm) needs ``Dataset297_TotalSegmentator_total_3mm_1559subj``,
  the 1.5 mm model the five ``Dataset291``–``Dataset295`` parts.

TotalSegmentator sends anonymous usage statistics over the network unless its ``config.json``
says ``"send_usage_stats": false``. nelm runs it with ``TOTALSEG_HOME_DIR`` pointing to a
temporary folder whose ``config.json`` disables them (and ``TOTALSEG_WEIGHTS_PATH`` to the
weights found), so that no run reaches the network and the user's own configuration is untouched.
The liver is label 5 of the ``total`` task (``totalseg_labels.json`` of the test data,
TotalSegmentator ``map_to_binary.class_map["total"]``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np

from nelm.errors import ConfigError, NelmError
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.nifti import read_labelmap, write_nifti
from nelm.imaging.volume import Volume
from nelm.segmentation.base import SegmentationResult, require_ct_hu

__all__ = [
    "TOTALSEGMENTATOR_FAST_DATASETS",
    "TOTALSEGMENTATOR_FULL_DATASETS",
    "TOTALSEGMENTATOR_LIVER_LABEL",
    "TOTALSEGMENTATOR_METHOD",
    "TotalSegmentatorSegmenter",
    "totalsegmentator_weights_dir",
]

logger = logging.getLogger(__name__)

TOTALSEGMENTATOR_METHOD: Final[str] = "totalsegmentator"
TOTALSEGMENTATOR_LIVER_LABEL: Final[int] = 5
TOTALSEGMENTATOR_FAST_DATASETS: Final[tuple[str, ...]] = ("Dataset297_TotalSegmentator_total_3mm_1559subj",)
TOTALSEGMENTATOR_FULL_DATASETS: Final[tuple[str, ...]] = (
    "Dataset291_TotalSegmentator_part1_organs_1559subj",
    "Dataset292_TotalSegmentator_part2_vertebrae_1532subj",
    "Dataset293_TotalSegmentator_part3_cardiac_1559subj",
    "Dataset294_TotalSegmentator_part4_muscles_1559subj",
    "Dataset295_TotalSegmentator_part5_ribs_1559subj",
)
_INSTALL_HINT: Final[str] = (
    "install it with `pip install TotalSegmentator` (it brings PyTorch and nnU-Net) and put its weights "
    "in place (fetch them once with TotalSegmentator's own `totalseg_download_weights` on a machine with "
    "network access and copy the weights folder)"
)


def totalsegmentator_weights_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where TotalSegmentator looks for its nnU-Net weights (same rule as its ``get_weights_dir``)."""
    env = os.environ if environ is None else environ
    if env.get("TOTALSEG_WEIGHTS_PATH"):
        return Path(env["TOTALSEG_WEIGHTS_PATH"])
    if env.get("TOTALSEG_HOME_DIR"):
        return Path(env["TOTALSEG_HOME_DIR"]) / "nnunet" / "results"
    home = Path.home()
    base = Path("/tmp") if str(home) == "/" else home
    return base / ".totalsegmentator" / "nnunet" / "results"


def _package_available() -> bool:
    """Whether the ``totalsegmentator`` package is importable (without importing PyTorch)."""
    return importlib.util.find_spec("totalsegmentator") is not None


class TotalSegmentatorSegmenter:
    """Liver from TotalSegmentator's ``total`` task, run locally in a subprocess.

    Parameters
    ----------
    fast:
        Use the 3 mm model (``--fast``; one weights folder, minutes on a CPU) instead of the
        1.5 mm ensemble.
    weights_dir:
        Weights folder; default :func:`totalsegmentator_weights_dir`.
    executable:
        The command to run (looked up on ``PATH``).
    device:
        ``cpu`` or ``gpu`` (TotalSegmentator's ``--device``).
    timeout_s:
        Longest allowed run.
    """

    name: str = TOTALSEGMENTATOR_METHOD

    def __init__(
        self,
        *,
        fast: bool = True,
        weights_dir: str | os.PathLike[str] | None = None,
        executable: str = "TotalSegmentator",
        device: str = "cpu",
        timeout_s: float = 3600.0,
    ) -> None:
        self.fast = fast
        self.weights_dir = Path(weights_dir) if weights_dir is not None else totalsegmentator_weights_dir()
        self.executable = executable
        self.device = device
        self.timeout_s = timeout_s

    @property
    def required_datasets(self) -> tuple[str, ...]:
        """Weights folders the chosen model needs."""
        return TOTALSEGMENTATOR_FAST_DATASETS if self.fast else TOTALSEGMENTATOR_FULL_DATASETS

    def available(self) -> tuple[bool, str]:
        """``(True, "")`` only with the package, its command and every weights folder present."""
        if not _package_available():
            return False, f"the Python package 'totalsegmentator' is not installed; {_INSTALL_HINT}"
        if shutil.which(self.executable) is None:
            return False, f"the command {self.executable!r} is not on PATH; {_INSTALL_HINT}"
        missing = [
            d
            for d in self.required_datasets
            if not (self.weights_dir / d).is_dir()
            or not any((self.weights_dir / d).rglob("checkpoint_final.pth"))
        ]
        if missing:
            return False, (
                f"TotalSegmentator weights {', '.join(missing)} are not in {self.weights_dir} "
                "(each folder needs a checkpoint_final.pth); nelm never downloads them: copy them "
                "there, or set TOTALSEG_WEIGHTS_PATH / TOTALSEG_HOME_DIR to where they are"
            )
        return True, ""

    def _command(self, source: Path, target: Path) -> list[str]:
        exe = shutil.which(self.executable) or self.executable
        cmd = [exe, "-i", str(source), "-o", str(target), "--ml", "--device", self.device, "--quiet"]
        if self.fast:
            cmd.append("--fast")
        return cmd

    def segment(self, image: Volume, **kwargs: Any) -> SegmentationResult:
        """Segment the liver of ``image`` (a CT in HU); the result lies on ``image``'s grid.

        Raises
        ------
        ConfigError
            When the backend is not available (the message says what to install or where the
            weights go), on unknown keyword arguments, or when the run fails.
        """
        if kwargs:
            raise ConfigError(f"TotalSegmentator backend takes no settings here, got {sorted(kwargs)}")
        ok, why = self.available()
        if not ok:
            raise ConfigError(f"TotalSegmentator is not available: {why}")
        require_ct_hu(image, "CT for TotalSegmentator")
        with tempfile.TemporaryDirectory(prefix="nelm-totalseg-") as tmp:
            work = Path(tmp)
            home = work / "home"
            home.mkdir()
            config = {
                "totalseg_id": "totalseg_nelm0000",
                "send_usage_stats": False,
                "prediction_counter": 0,
                "statistics_disclaimer_shown": True,
            }
            (home / "config.json").write_text(json.dumps(config), encoding="utf-8")
            env = dict(os.environ, TOTALSEG_HOME_DIR=str(home), TOTALSEG_WEIGHTS_PATH=str(self.weights_dir))
            source = write_nifti(image, work / "ct.nii.gz")
            target = work / "seg.nii.gz"
            cmd = self._command(source, target)
            logger.info("running %s", " ".join(cmd))
            try:
                run = subprocess.run(
                    cmd, env=env, capture_output=True, text=True, timeout=self.timeout_s, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise ConfigError(f"TotalSegmentator could not run ({' '.join(cmd)}): {exc}") from exc
            if run.returncode != 0 or not target.exists():
                tail = (run.stderr or run.stdout or "").strip().splitlines()[-5:]
                raise ConfigError(
                    f"TotalSegmentator failed with exit status {run.returncode} and "
                    f"{'no' if not target.exists() else 'an'} output: {' | '.join(tail) or 'no message'}"
                )
            try:
                seg = read_labelmap(target)
            except NelmError as exc:
                raise ConfigError(f"TotalSegmentator wrote an unreadable label map: {exc}") from exc
        return self._liver_result(seg, image)

    def _liver_result(self, seg: LabelMap, image: Volume) -> SegmentationResult:
        warnings: list[str] = []
        if not seg.geometry.same_as(image.geometry):
            warnings.append(
                "TotalSegmentator output lay on another grid than the CT "
                f"({seg.geometry.describe()}); resampled onto the CT grid by nearest neighbour"
            )
            seg = seg.resample_to(image.geometry)
        liver = np.asarray(seg.array == TOTALSEGMENTATOR_LIVER_LABEL)
        if not liver.any():
            warnings.append("TotalSegmentator found no liver (label 5) in this CT")
        model = "3 mm --fast model" if self.fast else "1.5 mm model"
        volume_ml = float(np.count_nonzero(liver)) * image.geometry.voxel_volume_ml
        provenance = (
            f"TotalSegmentator ({model}, task total, label 5 = liver; Wasserthal et al., Radiol Artif "
            f"Intell 2023;5:e230024), run locally by nelm with weights from {self.weights_dir}; volume "
            f"{volume_ml:.0f} mL; a model prediction, review it before use"
        )
        labelmap = LabelMap.from_binary(
            liver, image.geometry, "liver", source=f"nelm {TOTALSEGMENTATOR_METHOD}"
        )
        return SegmentationResult(labelmap, TOTALSEGMENTATOR_METHOD, provenance, tuple(warnings))
