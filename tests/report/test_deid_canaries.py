"""Canaries in every identifying input field never reach a DICOM export (issue 7, item 6)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pydicom
import pytest
from canaries import BIRTH_DATE_CANARY, original_uids, plant_canaries

from nelm.report.dicom_export import DicomExport, export_dicom_objects
from nelm.report.pipeline import RunOutputs, run_case
from nelm.report.results import RunResults


@pytest.fixture(scope="module")
def planted(phantom_case: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], set[str]]:
    """A copy of the synthetic case with canaries planted: (case.yaml, canaries, original UIDs)."""
    case_dir = tmp_path_factory.mktemp("canary_case") / "case"
    shutil.copytree(phantom_case.parent, case_dir)
    canaries = plant_canaries(case_dir)
    return case_dir / "case.yaml", canaries, original_uids(case_dir)


@pytest.fixture(scope="module")
def run(planted: tuple[Path, list[str], set[str]], tmp_path_factory: pytest.TempPathFactory) -> RunOutputs:
    """``nelm run`` on the planted case: every stage, every output."""
    return run_case(planted[0], tmp_path_factory.mktemp("canary_run") / "out")


@pytest.fixture(scope="module")
def results(run: RunOutputs) -> RunResults:
    return run.results


@pytest.fixture(scope="module")
def export(run: RunOutputs) -> DicomExport:
    return DicomExport(files=list(run.dicom))


def _text_of(path: Path) -> bytes:
    """A file's bytes; for a PDF its extracted text too (its streams are compressed)."""
    raw = path.read_bytes()
    if path.suffix == ".pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
        text = "".join(page.get_textpage().get_text_range() for page in pdf)
        raw += text.encode("utf-8")
    return raw


def test_no_canary_reaches_any_file_of_the_run(
    planted: tuple[Path, list[str], set[str]], run: RunOutputs
) -> None:
    """Every file nelm run writes: JSON, HTML, PDF (text), figures, dose maps and DICOM."""
    _, canaries, uids = planted
    assert all(s.status == "ok" for s in run.results.stages), run.results.stages
    files = [p for p in run.folder.rglob("*") if p.is_file()]
    assert {"results.json", "report.html", "report.pdf"} <= {p.name for p in files}
    for path in files:
        raw = _text_of(path)
        leaked = [c for c in canaries if c.encode() in raw]
        assert leaked == [], f"{path} carries {leaked}"
        assert [u for u in uids if u.encode() in raw] == [], f"{path} carries original UIDs"


def test_the_canaries_are_in_the_inputs(planted: tuple[Path, list[str], set[str]]) -> None:
    case_yaml, canaries, uids = planted
    one = next((case_yaml.parent / "baseline" / "ct_portal").iterdir())
    raw = one.read_bytes()
    for word in ("CNRY01", "CNRY05", "CNRY13", "CNRY27", "CNRY28", BIRTH_DATE_CANARY):
        assert word.encode() in raw
    assert "CNRY29" in case_yaml.read_text()
    assert len(canaries) >= 30
    assert len(uids) > 100


def test_no_canary_reaches_any_output(planted: tuple[Path, list[str], set[str]], export: DicomExport) -> None:
    _, canaries, _ = planted
    assert len(export.files) >= 5  # SEG + SR per CT time point, RT Doses
    for path in export.files:
        raw = path.read_bytes()
        leaked = [c for c in canaries if c.encode() in raw]
        assert leaked == [], f"{path} carries {leaked}"


def test_no_original_uid_reaches_any_output(
    planted: tuple[Path, list[str], set[str]], export: DicomExport
) -> None:
    _, _, uids = planted
    for path in export.files:
        raw = path.read_bytes()
        leaked = [u for u in uids if u.encode() in raw]
        assert leaked == [], f"{path} carries original UIDs {leaked[:3]}"


def test_every_output_says_it_is_deidentified(export: DicomExport) -> None:
    for path in export.files:
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES", path
        assert ds.PatientName == "NELM^NELM-PHANTOM-0000", path
        assert ds.PatientID == "NELM-PHANTOM-0000", path
        codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
        assert codes == {"113100", "113106"}, path


def test_keep_identifiers_keeps_them(results: RunResults, tmp_path: Path) -> None:
    """The check has teeth: with ``keep_identifiers`` the source identifiers do reach the SEG."""
    baseline = next(q for q in results.quants if q.time_point == "baseline")
    only_baseline = replace(results, quants=(baseline,), y90_dose=None)
    done = export_dicom_objects(only_baseline, tmp_path, keep_identifiers=True)
    seg = next(p for p in done.files if p.name == "seg.dcm")
    raw = seg.read_bytes()
    assert b"CNRY01" in raw
    assert b"CNRY02" in raw
    assert pydicom.dcmread(seg).get("PatientIdentityRemoved") is None
