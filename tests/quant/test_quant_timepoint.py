"""Quantification of a whole time point against the synthetic patient's ground truth, and the
`nelm quantify` command.

Truth comes from nelm.phantom (truth.json): analytic lesion shapes, their voxel counts on each
grid, per-tissue HU and SUV. Noise-free images (``patient.noise_free``: painted with partial
volume, before blur and noise) test the methods exactly; the written noisy images test the
pipeline end to end with tolerances derived from the phantom's noise.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from nelm.case import Case, load_case
from nelm.cli.main import main
from nelm.phantom import PhantomConfig, SyntheticPatient, generate_patient, write_patient
from nelm.quant.results import TimePointQuant
from nelm.quant.timepoint import quantify_time_point
from nelm.timepoint_data import load_time_point


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticPatient, Case, dict[str, object]]:
    patient = generate_patient(PhantomConfig(seed=11, n_lesions=8))
    out = tmp_path_factory.mktemp("phantom")
    manifest = write_patient(patient, out, formats=("nifti",))
    truth = json.loads((out / "truth.json").read_text())
    return patient, load_case(manifest), truth


def _truth_tp(truth: dict[str, object], tp_id: str) -> dict[str, object]:
    tps = truth["time_points"]
    assert isinstance(tps, list)
    return next(tp for tp in tps if tp["id"] == tp_id)


@pytest.fixture(scope="module")
def noise_free_baseline(written: tuple[SyntheticPatient, Case, dict[str, object]]) -> TimePointQuant:
    patient, case, _ = written
    data = load_time_point(case.baseline)
    images = {
        role: vol.with_array(patient.noise_free[f"{case.baseline.id}/{role}"].array)
        for role, vol in data.images.items()
    }
    clean = dataclasses.replace(data, images=images)
    return quantify_time_point(clean, patient=case.patient)


def test_lesions_match_truth(
    written: tuple[SyntheticPatient, Case, dict[str, object]], noise_free_baseline: TimePointQuant
) -> None:
    _, case, truth = written
    tp = _truth_tp(truth, case.baseline.id)
    q = noise_free_baseline
    lesions = {les["tracking_id"]: les for les in tp["lesions"] if les["present"]}  # type: ignore[index, union-attr]
    assert {les.lesion_id for les in q.lesions} == set(lesions)
    voxel_ml = float(np.prod(q.grid["spacing_mm"])) / 1000  # type: ignore[arg-type]
    for les in q.lesions:
        t = lesions[les.lesion_id]
        # Volume: exactly the truth mask's voxel count on this grid.
        assert les.volume_ml == pytest.approx(t["voxel_counts"]["ct_portal"] * voxel_ml)
        assert les.segment == t["segment"]
        assert les.lobe == t["lobe"]
        # RECIST long axis of an axis-aligned ellipsoid: the analytic value within the
        # pixel-corner convention's overestimate (at most one in-plane pixel diagonal) and the
        # slice sampling (the central slice may miss the equator by half a slice).
        assert les.axial is not None
        diag = float(np.hypot(*q.grid["spacing_mm"][1:]))  # type: ignore[index]
        assert les.axial.long_mm <= t["axial_long_diameter_mm"] + diag + 1e-6
        assert les.axial.long_mm >= t["axial_long_diameter_mm"] - 2 * diag
        assert les.pet is not None
        assert q.pet is not None
        assert q.pet.liver_suv_mean is not None
        liver_suv = q.pet.liver_suv_mean
        # Noise-free PET: the SUVmax of a lesion hotter than the liver and larger than the PET
        # voxels is its true SUV; a colder lesion's SUVmax lies between its SUV and the liver's
        # (its rim voxels share the liver's activity by partial volume).
        if t["sstr_suv"] > liver_suv and t["volume_ml"] > 2.0:
            assert les.pet.suv_max == pytest.approx(t["sstr_suv"], rel=0.02)
        elif t["sstr_suv"] <= liver_suv:
            assert t["sstr_suv"] - 1e-6 <= les.pet.suv_max <= liver_suv * 1.02


def test_enhancement_and_choi_match_truth(
    written: tuple[SyntheticPatient, Case, dict[str, object]], noise_free_baseline: TimePointQuant
) -> None:
    _, case, truth = written
    tp = _truth_tp(truth, case.baseline.id)
    lesions = {les["tracking_id"]: les for les in tp["lesions"]}  # type: ignore[index, union-attr]
    q = noise_free_baseline
    assert q.reference is not None
    assert q.reference.enhancement_map == "ct_arterial - ct_unenhanced"
    for les in q.lesions:
        t = lesions[les.lesion_id]
        assert les.enhancing is not None
        if t["hypervascular"] and t["necrotic_core_fraction"] == 0:
            # A fully viable hypervascular lesion enhances everywhere but in its partial-volume rim.
            assert les.enhancing.enhancing_fraction > 0.7
        if t["necrotic_core_fraction"] > 0:
            # The necrotic core never enhances: the viable fraction is at most 1 - core volume.
            assert les.enhancing.enhancing_fraction <= 1 - t["necrotic_core_fraction"] ** 3 + 0.1
        # Choi density: portal mean within the partial-volume mix of lesion and liver HU.
        lo = min(t["ct_hu"]["portal"], t["ct_hu_necrotic"], q.reference.phase_means["ct_portal"])
        hi = max(t["ct_hu"]["portal"], q.reference.phase_means["ct_portal"])
        assert les.choi_portal_mean_hu is not None
        assert lo - 1 <= les.choi_portal_mean_hu <= hi + 1


def test_patient_burden_matches_truth(
    written: tuple[SyntheticPatient, Case, dict[str, object]], noise_free_baseline: TimePointQuant
) -> None:
    _, case, truth = written
    tp = _truth_tp(truth, case.baseline.id)
    p = noise_free_baseline.patient
    counts = tp["mask_counts"]["ct_portal"]  # type: ignore[index]
    n_liver = counts["liver"]["liver"]["voxel_count"]
    n_tumour = sum(v["voxel_count"] for v in counts["lesions"].values())
    assert p.lesion_count == tp["lesion_count"]
    assert p.hepatic_tumour_burden_percent == pytest.approx(100 * n_tumour / n_liver)
    assert p.hepatic_tumour_burden_percent == pytest.approx(tp["hepatic_tumour_burden_percent"], rel=0.05)
    assert p.distribution == tp["distribution"]
    assert p.by_lobe is not None


def test_noisy_pipeline_and_cli(
    written: tuple[SyntheticPatient, Case, dict[str, object]], tmp_path: Path
) -> None:
    _, case, truth = written
    out = tmp_path / "quant.json"
    assert main(["quantify", str(case.manifest_path), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["case_id"] == case.case_id
    quantified = {tp["time_point"] for tp in doc["time_points"]}
    # Every time point with a CT/MR/SSTR-PET image and masks: not the MAA and Y-90 ones.
    assert quantified == {"baseline", "fu1", "fu2"}
    base = next(tp for tp in doc["time_points"] if tp["time_point"] == case.baseline.id)
    tp = _truth_tp(truth, case.baseline.id)
    # Noisy CT (12 HU): the parenchyma reference still finds the liver's arterial HU.
    assert base["reference"]["phase_means"]["ct_arterial"] == pytest.approx(75.0, abs=2.0)
    assert base["patient"]["lesion_count"] == tp["lesion_count"]
    assert "research use" in doc["disclaimer"].lower()


def test_quantify_without_masks_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ct.nii.gz").write_bytes(b"")
    (tmp_path / "case.yaml").write_text(
        "nelm_manifest: 1\ncase_id: X\ntime_points:\n"
        "  - {id: b, date: 2026-01-01, kind: baseline, images: {ct_portal: ct.nii.gz}}\n"
    )
    assert main(["quantify", "--no-fallback", str(tmp_path / "case.yaml")]) == 2
    assert "no time point has a CT/MR/SSTR-PET image with liver and lesion masks" in capsys.readouterr().err
    # With fallbacks allowed the CT is read, and an empty file is a one-line input error.
    assert main(["quantify", str(tmp_path / "case.yaml")]) == 2
    assert "cannot read NIfTI file" in capsys.readouterr().err


def test_binary_lesion_mask_is_split_into_components(
    written: tuple[SyntheticPatient, Case, dict[str, object]],
) -> None:
    from nelm.imaging import LabelMap

    _, case, truth = written
    data = load_time_point(case.baseline)
    labelled = data.masks["lesions"]
    binary = LabelMap.from_binary(labelled.any_mask(), labelled.geometry, "lesions")
    q = quantify_time_point(dataclasses.replace(data, masks={**data.masks, "lesions": binary}))
    tp = _truth_tp(truth, case.baseline.id)
    # The phantom keeps lesions apart (min gap 3 mm), so the components are the lesions.
    assert q.patient.lesion_count == tp["lesion_count"]
    volumes = sorted(round(les.volume_ml, 6) for les in q.lesions)
    per_label = sorted(round(labelled.volume_ml(k), 6) for k in labelled.labels)
    assert volumes == per_label
    assert all(les.pet is not None for les in q.lesions if les.volume_ml > 1.0)


def test_fallback_segmentation_is_used_and_said(
    written: tuple[SyntheticPatient, Case, dict[str, object]],
) -> None:
    _, case, truth = written
    data = load_time_point(case.baseline)
    bare = dataclasses.replace(data, masks={}, mask_image={})
    q = quantify_time_point(bare)
    assert q.masks["liver"].startswith("fallback-liver-hu")
    assert "lesions" in q.masks
    assert not q.masks["lesions"].startswith("given")
    assert any("no mask given" in w for w in q.warnings)
    tp = _truth_tp(truth, case.baseline.id)
    # The fallbacks find the phantom's liver and (nearly) all of its lesions (measured: 8/8).
    assert q.patient.liver_volume_ml == pytest.approx(tp["liver_volume_ml"], rel=0.1)
    assert tp["lesion_count"] - 1 <= q.patient.lesion_count <= tp["lesion_count"] + 1


def test_no_fallback_means_masks_are_required(
    written: tuple[SyntheticPatient, Case, dict[str, object]],
) -> None:
    from nelm.errors import InputError
    from nelm.quant.timepoint import QuantSettings

    _, case, _ = written
    data = load_time_point(case.baseline)
    bare = dataclasses.replace(data, masks={"liver": data.masks["liver"]})
    with pytest.raises(InputError, match="no lesions mask and fallback segmentation is turned off"):
        quantify_time_point(bare, settings=QuantSettings(allow_fallback=False))


def test_given_reference_region_is_used(written: tuple[SyntheticPatient, Case, dict[str, object]]) -> None:
    from nelm.imaging import LabelMap

    _, case, _ = written
    data = load_time_point(case.baseline)
    liver = data.masks["liver"]
    # A reference box in the liver: its arterial mean is the reference mean, exactly.
    box = np.zeros(liver.array.shape, bool)
    centre = np.argwhere(liver.any_mask()).mean(axis=0).astype(int)
    box[tuple(slice(c - 3, c + 3) for c in centre)] = True
    box &= liver.any_mask()
    ref = LabelMap.from_binary(box, liver.geometry, "reference", source="ref.nii.gz")
    q = quantify_time_point(dataclasses.replace(data, masks={**data.masks, "reference_liver": ref}))
    assert q.reference is not None
    assert q.reference.method.startswith("given: ref.nii.gz")
    usable = box & ~data.masks["lesions"].any_mask()
    expected = float(np.mean(data.images["ct_arterial"].array[usable]))
    assert q.reference.phase_means["ct_arterial"] == pytest.approx(expected)
