"""``nelm y90 plan`` on the synthetic TARE patient and on plan files (reference/y90-dosimetry.md §2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nelm.cli.main import main
from nelm.errors import ManifestError
from nelm.phantom.truth import PhantomTruth
from nelm.y90.plan import load_plan_source, plan_y90
from nelm.y90.plan_file import load_plan_file

K = 49.67  # Gy·kg/GBq (Gulec et al. 2006)
RHO = 1.03  # g/mL


def _plan_file(tmp_path: Path, case: Path, body: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(f"nelm_y90_plan: 1\ncase: {case}\n{body}", encoding="utf-8")
    return path


def test_case_defaults_measure_the_maa_study(tare_case: tuple[Path, PhantomTruth]) -> None:
    case_path, truth = tare_case
    result = plan_y90(*load_plan_source(case_path))
    m = result.measurements
    assert m is not None
    assert m.lung_shunt is not None
    # Volumes on the 4.8 mm SPECT grid against the analytic phantom (high-resolution truth).
    assert m.perfused_volume_ml == pytest.approx(truth.organs.perfused_territory_volume_ml, rel=0.01)
    assert m.liver_volume_ml == pytest.approx(truth.organs.liver_volume_ml, rel=0.01)
    # SPECT LSF: 12 mm blur moves a little lung activity out of the thin lung mask (helper's 3 %).
    assert truth.maa is not None
    assert m.lung_shunt.fraction == pytest.approx(truth.maa.lung_shunt_fraction, rel=0.03)
    # Partial volume on small lesions can only lower the measured concentration ratio.
    assert m.tn_ratio is not None
    assert 1.0 < m.tn_ratio < truth.maa.tn_ratio
    # Glass default: MIRD 120 Gy on the perfused volume, A = D·M/(K·(1 − LSF)), by hand.
    mird = result.plans[0]
    assert mird.model.value == "mird"
    expected = 120.0 * (m.perfused_volume_ml * RHO / 1000.0) / (K * (1.0 - m.lung_shunt.fraction))
    assert mird.activity_gbq == pytest.approx(expected, rel=1e-9)
    assert [p.model.value for p in result.plans] == ["mird", "partition", "voxel"]


def test_voxel_plan_conserves_the_liver_activity(tare_case: tuple[Path, PhantomTruth]) -> None:
    result = plan_y90(*load_plan_source(tare_case[0]))
    voxel = result.voxel
    assert voxel is not None
    assert result.measurements is not None
    dose = np.asarray(voxel.dose.dose_gy.array, dtype=np.float64)
    liver = result.measurements.masks["liver"]
    voxel_kg = float(np.prod(voxel.dose.dose_gy.spacing_mm)) / 1000.0 * RHO / 1000.0
    # Local deposition: Σ dose·mass over the liver = K · A · (1 − LSF) (all liver activity absorbed there).
    absorbed = float(dose[liver].sum()) * voxel_kg
    assert absorbed == pytest.approx(K * voxel.activity_gbq * (1 - voxel.lung_shunt_fraction), rel=1e-4)
    # Same activity as the MIRD plan: the perfused mean is 120 Gy less what the blur spills outside.
    assert voxel.activity_gbq == result.plans[0].activity_gbq
    assert 110.0 < voxel.mean_dose_gy("perfused") <= 120.0


def test_plan_file_overrides_and_voxel_prescription(
    tmp_path: Path, tare_case: tuple[Path, PhantomTruth]
) -> None:
    path = _plan_file(
        tmp_path,
        tare_case[0],
        "models: [partition, voxel]\nlung_shunt: 10 %\ntn_ratio: 3\npartition_target: tumour\n"
        "partition_dose: 150 Gy\nvoxel_target: normal_liver\nvoxel_dose: 40 Gy\nresidual: 2 %\n"
        "vial_calibration: 2026-02-15T12:00:00-05:00\n",
    )
    result = plan_y90(*load_plan_source(path))
    partition, voxel = result.plans
    assert result.sources["lung_shunt"] == "plan file"
    assert partition.lung_shunt.fraction == 0.10
    m = result.measurements
    assert m is not None
    assert m.tumour_volume_ml is not None
    assert m.perfused_volume_ml is not None
    m_t = m.tumour_volume_ml * RHO / 1000.0
    m_n = (m.perfused_volume_ml - m.tumour_volume_ml) * RHO / 1000.0
    # Partition model (Ho 1996): A = D_T·(TNR·M_T + M_N) / (TNR·K·(1 − LSF)).
    assert partition.activity_gbq == pytest.approx(150.0 * (3 * m_t + m_n) / (3 * K * 0.9), rel=1e-9)
    assert partition.vial_activity_gbq == pytest.approx(partition.activity_gbq / 0.98, rel=1e-12)
    assert result.voxel is not None
    assert result.voxel.mean_dose_gy("normal_liver") == pytest.approx(40.0, rel=1e-5)
    assert voxel.activity_gbq == result.voxel.activity_gbq
    # The vial is chosen for the primary (first) plan, decayed from calibration to the case's treatment.
    assert result.vial is not None
    assert result.vial.vial_activity_at_treatment_gbq >= partition.vial_activity_gbq


def test_lung_dose_above_limit_blocks_without_clipping(
    tmp_path: Path, tare_case: tuple[Path, PhantomTruth]
) -> None:
    path = _plan_file(tmp_path, tare_case[0], "models: [mird]\nlung_shunt: 30 %\nmird_dose: 150 Gy\n")
    result = plan_y90(*load_plan_source(path))
    plan = result.plans[0]
    m = result.measurements
    assert m is not None
    assert m.perfused_volume_ml is not None
    activity = 150.0 * (m.perfused_volume_ml * RHO / 1000.0) / (K * 0.7)
    assert plan.activity_gbq == pytest.approx(activity, rel=1e-9)  # not reduced to fit the lungs
    assert plan.doses.lung_gy == pytest.approx(K * activity * 0.3 / 1.0, rel=1e-9)
    assert plan.doses.lung_gy > 30.0
    assert not result.deliverable("mird")
    assert any(f.level.value == "block" and "30 Gy" in f.message for f in result.findings["mird"])


def test_plan_file_limits_are_applied_and_recorded(
    tmp_path: Path, tare_case: tuple[Path, PhantomTruth]
) -> None:
    """A lung limit of 25 Gy from the plan file blocks a 27 Gy plan the default 30 Gy allows."""
    body = "models: [mird]\nlung_shunt: 18 %\nmird_dose: 120 Gy\n"
    default = plan_y90(*load_plan_source(_plan_file(tmp_path, tare_case[0], body)))
    lung_gy = default.plans[0].doses.lung_gy
    assert 25.0 < lung_gy < 30.0  # 120 Gy to the perfused liver with an 18 % shunt, 1 kg lungs
    assert default.deliverable("mird")
    assert default.to_dict()["safety_limits_overridden"] == []
    strict = plan_y90(
        *load_plan_source(_plan_file(tmp_path, tare_case[0], body + "lung_limit_per_treatment: 25 Gy\n"))
    )
    assert strict.limits.lung_dose_per_treatment_gy == 25.0
    assert not strict.deliverable("mird")
    assert any(f.level.value == "block" and "25 Gy" in f.message for f in strict.findings["mird"])
    doc = strict.to_dict()
    assert doc["safety_limits"]["lung_dose_per_treatment_gy"] == 25.0
    assert doc["safety_limits"]["lung_dose_cumulative_gy"] == 50.0
    assert doc["safety_limits_overridden"] == ["lung_dose_per_treatment_gy"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("lung_shunt: 0.06\n", "lung_shunt: bare number 0.06 is ambiguous"),
        ("lung_shunt: 100 %\n", "lung_shunt: 100 % is impossible"),
        ("mird_dose: 120\n", "mird_dose: bare number 120 has no unit"),
        (
            "treatment_datetime: 2026-02-16T10:30:00\n",
            "treatment_datetime: date-time 2026-02-16T10:30:00 has no UTC",
        ),
        ("liver_density: 1.03\n", "liver_density: bare number"),
        ("models: [mird, mird]\n", "models: lists a model twice"),
        ("half_life: 641 h\n", None),
        ("lung_shunt_fraction: 6 %\n", "lung_shunt_fraction: unknown key"),
        ("vial_sizes: [3, 5]\n", "vial_sizes: bare number 3 has no unit"),
    ],
)
def test_bad_plan_files_name_file_and_key(tmp_path: Path, body: str, needle: str | None) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(f"nelm_y90_plan: 1\n{body}", encoding="utf-8")
    if needle is None:  # parsed, but refused by the constants' plausibility range
        from nelm.errors import ConfigError

        with pytest.raises(ConfigError, match="half_life_h"):
            plan_y90(load_plan_file(path))
        return
    with pytest.raises(ManifestError) as exc:
        load_plan_file(path)
    assert str(path) in str(exc.value)
    assert needle in str(exc.value)


def test_missing_version_and_missing_case(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("models: [mird]\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="nelm_y90_plan: required"):
        load_plan_file(path)
    path.write_text("nelm_y90_plan: 1\ncase: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="case"):
        load_plan_file(path)


def test_plan_without_case_needs_every_input(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "nelm_y90_plan: 1\nmodels: [mird]\nliver_volume: 1500 mL\nperfused_volume: 1000 mL\n"
        "tumour_volume: 250 mL\nlung_shunt: 2.5 %\nmird_dose: 120 Gy\n",
        encoding="utf-8",
    )
    result = plan_y90(load_plan_file(path))
    # DAVYR's defaults by hand: A = 120 · 1.03 kg / (49.67 · 0.975).
    assert result.plans[0].activity_gbq == pytest.approx(120 * 1.03 / (K * 0.975), rel=1e-9)
    path.write_text("nelm_y90_plan: 1\nmodels: [mird]\nliver_volume: 1500 mL\n", encoding="utf-8")
    from nelm.errors import InputError

    with pytest.raises(InputError, match="perfused volume"):
        plan_y90(load_plan_file(path))


def test_cli_plan_and_vial(
    tmp_path: Path, tare_case: tuple[Path, PhantomTruth], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    plan_argv = ["y90", "plan", str(tare_case[0]), "--json", str(out)]
    assert main([*plan_argv, "--out", str(tmp_path / "maps")]) == 0
    doc = json.loads(out.read_text())
    assert doc["plans"][0]["model"] == "mird"
    assert "disclaimer" in doc
    assert (tmp_path / "maps" / "planned_dose.nii.gz").exists()
    vial_json = tmp_path / "vial.json"
    argv = ["y90", "vial", "--calibration", "2026-03-22T12:00:00-04:00"]
    argv += ["--treatment", "2026-03-30T09:00:00+02:00", "--activity", "2.5 GBq", "--json", str(vial_json)]
    assert main(argv) == 0
    vial = json.loads(vial_json.read_text())
    # Elapsed: 2026-03-22 16:00 UTC → 2026-03-30 07:00 UTC = 183 h (the two offsets differ).
    need = 2.5 * 2 ** (183 / 64.1)
    assert vial["needed_at_calibration_gbq"] == pytest.approx(need, rel=1e-9)
    assert vial["vial"]["nominal_activity_gbq"] == 20.0  # smallest of 3, 5, 7, 10, 15, 20 ≥ 17.9 GBq
    naive = [
        "y90",
        "vial",
        "--calibration",
        "2026-03-22T12:00:00",
        "--treatment",
        "2026-03-30T09:00:00+02:00",
    ]
    assert main([*naive, "--activity", "2.5 GBq"]) == 2
    assert "UTC offset" in capsys.readouterr().err
    assert main(["y90", "vial", "--calibration", "2026-03-22T12:00:00-04:00", "--treatment",
                 "2026-03-30T09:00:00+02:00", "--activity", "2.5"]) == 2  # fmt: skip


def test_planar_lsf_is_measured_and_selectable(tmp_path: Path, tare_case: tuple[Path, PhantomTruth]) -> None:
    """The planar pair with its ROIs gives the geometric-mean LSF; ``lung_shunt_method`` picks it."""
    case_path, truth = tare_case
    assert truth.maa is not None
    default = plan_y90(*load_plan_source(case_path))
    m = default.measurements
    assert m is not None
    assert m.planar_lung_shunt is not None
    assert m.lung_shunt is not None
    # the phantom's noise-free geometric mean over the projected organ silhouettes (blur and Poisson
    # noise move a little activity out of the ROIs: within 2 %, as in test_lsf)
    assert m.planar_lung_shunt.fraction == pytest.approx(truth.maa.planar.geometric_mean_lsf, rel=0.02)
    assert default.sources["lung_shunt"] == "measured (spect)"  # SPECT preferred by default
    planar = plan_y90(*load_plan_source(_plan_file(tmp_path, case_path, "lung_shunt_method: planar\n")))
    assert planar.sources["lung_shunt"] == "measured (planar_geometric_mean)"
    mird = planar.plans[0]
    lsf = m.planar_lung_shunt.fraction
    expected = 120.0 * (m.perfused_volume_ml or 0.0) * RHO / 1000.0 / (K * (1.0 - lsf))
    assert mird.activity_gbq == pytest.approx(expected, rel=1e-9)
    assert any("overestimates" in w for w in m.planar_lung_shunt.warnings)


def test_lsf_value_and_method_together_are_refused(
    tmp_path: Path, tare_case: tuple[Path, PhantomTruth]
) -> None:
    path = _plan_file(tmp_path, tare_case[0], "lung_shunt: 6 %\nlung_shunt_method: planar\n")
    with pytest.raises(ManifestError, match="not both") as exc:
        load_plan_file(path)
    assert str(path) in str(exc.value)


def test_planar_method_without_planar_rois_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "nelm_y90_plan: 1\nmodels: [mird]\nliver_volume: 1500 mL\nperfused_volume: 1000 mL\n"
        "tumour_volume: 250 mL\nlung_shunt_method: planar\nmird_dose: 120 Gy\n",
        encoding="utf-8",
    )
    from nelm.errors import InputError

    with pytest.raises(InputError, match="planar_lungs and planar_liver"):
        plan_y90(load_plan_file(path))
