"""The segmenter interface, the registry, and the TotalSegmentator backend (not installed here).

The real TotalSegmentator is absent, so its unavailable path is tested for real; its run path is
tested with a stand-in command that behaves like ``TotalSegmentator --ml`` (reads ``-i``, writes a
multi-label NIfTI to ``-o``), which checks nelm's plumbing: temporary NIfTI, subprocess,
isolated configuration without usage statistics, reading back label 5, and the grid check.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

import nelm.segmentation.external as external
from nelm.errors import ConfigError, InputError
from nelm.imaging import Geometry, LabelMap, ValueUnit, Volume
from nelm.segmentation import (
    SEGMENTERS,
    LiverHuSegmenter,
    SegmentationResult,
    Segmenter,
    TotalSegmentatorSegmenter,
    get_segmenter,
    segment_liver,
)
from nelm.segmentation.external import TOTALSEGMENTATOR_FAST_DATASETS, totalsegmentator_weights_dir
from nelm.segmentation.metrics import dice

FAKE = """#!{python}
import json, os, sys
import nibabel as nib
import numpy as np
args = sys.argv[1:]
src, dst = args[args.index("-i") + 1], args[args.index("-o") + 1]
home = os.environ["TOTALSEG_HOME_DIR"]
with open(os.environ["NELM_FAKE_LOG"], "w") as f:
    json.dump({{"argv": args, "weights": os.environ["TOTALSEG_WEIGHTS_PATH"],
               "config": json.load(open(os.path.join(home, "config.json")))}}, f)
img = nib.load(src)
seg = np.where(np.asarray(img.dataobj) > 100, 5, 0).astype(np.uint8)  # "liver" = bright voxels
seg[0, 0, 0] = 1  # another structure (spleen in TotalSegmentator's numbering)
affine = img.affine
if os.environ.get("NELM_FAKE_MODE") == "coarse":  # a 2x coarser grid, as a resampling model might
    seg, affine = seg[::2, ::2, ::2], img.affine @ np.diag([2.0, 2.0, 2.0, 1.0])
nib.save(nib.Nifti1Image(seg, affine), dst)
"""


def _ct() -> Volume:
    """A soft-tissue block (40 HU) holding a 36 × 60 × 36 mm "liver" of 120 HU on the patient's
    right (low LPS x)."""
    g = Geometry.from_spacing((16, 30, 30), (3.0, 3.0, 3.0), origin_mm=(-45.0, -45.0, 0.0))
    hu = np.full(g.shape, 40.0, np.float32)
    hu[2:14, 5:25, 2:14] = 120.0
    return Volume(hu, g, "CT", ValueUnit.HU)


@pytest.fixture
def fake_totalsegmentator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``TotalSegmentator`` on PATH, its weights folder, and the package 'importable'."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "TotalSegmentator"
    exe.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    weights = tmp_path / "weights"
    fold = weights / TOTALSEGMENTATOR_FAST_DATASETS[0] / "nnUNetTrainer__nnUNetPlans__3d_fullres" / "fold_0"
    fold.mkdir(parents=True)
    (fold / "checkpoint_final.pth").write_bytes(b"not a real checkpoint")
    monkeypatch.setattr(external, "_package_available", lambda: True)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '')}")
    monkeypatch.setenv("TOTALSEG_WEIGHTS_PATH", str(weights))
    monkeypatch.setenv("NELM_FAKE_LOG", str(tmp_path / "log.json"))
    return tmp_path


# -- interface and registry ------------------------------------------------------------------------
def test_registered_segmenters_follow_the_protocol() -> None:
    assert set(SEGMENTERS) == {"fallback", "fallback-liver-hu", "totalsegmentator"}
    for name in SEGMENTERS:
        seg = get_segmenter(name)
        assert isinstance(seg, Segmenter)
        ok, why = seg.available()
        assert isinstance(ok, bool)
        assert isinstance(why, str)
    assert isinstance(get_segmenter("Fallback"), LiverHuSegmenter)
    assert LiverHuSegmenter().available() == (True, "")


def test_unknown_segmenter_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known segmenters: fallback, fallback-liver-hu, totalsegmentator"):
        get_segmenter("nnunet")


def test_result_validates_its_fields() -> None:
    lm = LabelMap.from_binary(np.ones((2, 2, 2), bool), Geometry.from_spacing((2, 2, 2), (1, 1, 1)), "liver")
    with pytest.raises(InputError, match="method name"):
        SegmentationResult(lm, "", "made by hand")
    with pytest.raises(InputError, match="no provenance"):
        SegmentationResult(lm, "manual", " ")
    with pytest.raises(InputError, match="needs a LabelMap"):
        SegmentationResult(np.ones((2, 2, 2)), "manual", "made by hand")  # type: ignore[arg-type]
    summary = SegmentationResult(lm, "manual", "made by hand", ("checked",)).summary()
    assert summary["labels"] == [
        {"value": 1, "name": "liver", "tracking_id": "", "voxel_count": 8, "volume_ml": pytest.approx(0.008)}
    ]
    json.dumps(summary)


# -- TotalSegmentator, not installed ------------------------------------------------------------------
def test_totalsegmentator_unavailable_without_the_package() -> None:
    assert not external._package_available(), "this test expects TotalSegmentator not to be installed"
    ok, why = TotalSegmentatorSegmenter().available()
    assert not ok
    assert "'totalsegmentator' is not installed" in why
    assert "pip install TotalSegmentator" in why
    with pytest.raises(
        ConfigError, match=r"TotalSegmentator is not available: .*pip install TotalSegmentator"
    ):
        TotalSegmentatorSegmenter().segment(_ct())
    with pytest.raises(ConfigError, match="TotalSegmentator is not available"):
        segment_liver(_ct(), backend="totalsegmentator")


def test_auto_backend_falls_back_with_a_warning_saying_so() -> None:
    ct = _ct()
    auto = segment_liver(ct, backend="auto")
    fallback = segment_liver(ct, backend="fallback")
    assert auto.method == fallback.method == "fallback-liver-hu"
    np.testing.assert_array_equal(auto.labelmap.array, fallback.labelmap.array)
    assert auto.warnings[0].startswith("TotalSegmentator is not available")
    assert "non-learning nelm fallback" in auto.warnings[0]
    assert auto.warnings[1:] == fallback.warnings


def test_missing_command_and_missing_weights_are_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(external, "_package_available", lambda: True)
    ok, why = TotalSegmentatorSegmenter(executable="no-such-totalsegmentator").available()
    assert not ok
    assert "'no-such-totalsegmentator' is not on PATH" in why
    ok, why = TotalSegmentatorSegmenter(executable=sys.executable, weights_dir=tmp_path).available()
    assert not ok
    assert TOTALSEGMENTATOR_FAST_DATASETS[0] in why
    assert str(tmp_path) in why
    assert "never downloads" in why
    ok, why = TotalSegmentatorSegmenter(
        executable=sys.executable, weights_dir=tmp_path, fast=False
    ).available()
    assert "Dataset291_TotalSegmentator_part1_organs_1559subj" in why


def test_weights_folder_is_found_like_totalsegmentator_does(tmp_path: Path) -> None:
    assert totalsegmentator_weights_dir({"TOTALSEG_WEIGHTS_PATH": "/w", "TOTALSEG_HOME_DIR": "/h"}) == Path(
        "/w"
    )
    assert totalsegmentator_weights_dir({"TOTALSEG_HOME_DIR": "/h"}) == Path("/h/nnunet/results")
    default = totalsegmentator_weights_dir({})
    assert default.parts[-3:] == (".totalsegmentator", "nnunet", "results")


# -- TotalSegmentator run path with a stand-in command -------------------------------------------------
def test_stand_in_totalsegmentator_run(fake_totalsegmentator: Path) -> None:
    ct = _ct()
    seg = TotalSegmentatorSegmenter()
    assert seg.available() == (True, "")
    result = seg.segment(ct)
    assert result.method == "totalsegmentator"
    assert result.labelmap.geometry.same_as(ct.geometry)
    np.testing.assert_array_equal(result.labelmap.mask("liver"), ct.array > 100)  # label 5 only
    assert result.warnings == ()
    assert "Wasserthal" in result.provenance
    log = json.loads((fake_totalsegmentator / "log.json").read_text(encoding="utf-8"))
    assert {"--ml", "--fast", "--quiet"} <= set(log["argv"])
    assert log["argv"][log["argv"].index("--device") + 1] == "cpu"
    assert log["config"]["send_usage_stats"] is False  # no network from the subprocess either
    assert log["weights"] == str(fake_totalsegmentator / "weights")


def test_auto_backend_prefers_an_available_totalsegmentator(fake_totalsegmentator: Path) -> None:
    result = segment_liver(_ct(), backend="auto")
    assert result.method == "totalsegmentator"


def test_output_on_another_grid_is_resampled_with_a_warning(
    fake_totalsegmentator: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NELM_FAKE_MODE", "coarse")
    ct = _ct()
    result = TotalSegmentatorSegmenter().segment(ct)
    assert result.labelmap.geometry.same_as(ct.geometry)
    assert "resampled onto the CT grid" in result.warnings[0]
    # Nearest neighbour from a 2x coarser grid moves each face of the 12 × 20 × 12-voxel block by
    # at most one voxel: at worst 10 × 18 × 10 of its voxels remain (62.5 %), Dice ≥ 2·0.625/1.625.
    assert dice(result.labelmap.mask("liver"), ct.array > 100) >= 2 * 0.625 / 1.625


def test_failing_run_is_reported(fake_totalsegmentator: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NELM_FAKE_LOG")  # the stand-in then dies with a KeyError
    with pytest.raises(ConfigError, match="TotalSegmentator failed with exit status 1"):
        TotalSegmentatorSegmenter().segment(_ct())


def test_totalsegmentator_rejects_non_ct(fake_totalsegmentator: Path) -> None:
    ct = _ct()
    mr = Volume(ct.array, ct.geometry, "MR", ValueUnit.ARBITRARY)
    with pytest.raises(InputError, match="MR volume"):
        TotalSegmentatorSegmenter().segment(mr)
