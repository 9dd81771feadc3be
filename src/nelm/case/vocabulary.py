"""Controlled vocabularies of the case manifest (schema version 1).

Every enumeration is a :class:`enum.StrEnum`: its members compare and hash equal to their manifest
spelling (``ImageRole.CT_PORTAL == "ct_portal"``), so a mapping keyed by the enum can be looked
up with the plain text too.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Differentiation",
    "FileFormat",
    "FunctionalSyndrome",
    "Grade",
    "ImageRole",
    "MaskRole",
    "PortalVeinThrombosis",
    "PrimarySite",
    "Sex",
    "TareDevice",
    "TimePointKind",
    "TreatmentType",
]


class Sex(StrEnum):
    """Patient sex, coded as DICOM Patient's Sex (0010,0040): M, F or O (PS3.3 C.7.1.1)."""

    M = "M"
    F = "F"
    O = "O"  # noqa: E741 - the DICOM code is the letter O


class PrimarySite(StrEnum):
    """Site of the primary neuroendocrine tumour."""

    PANCREAS = "pancreas"
    SMALL_INTESTINE = "small_intestine"
    COLORECTAL = "colorectal"
    STOMACH = "stomach"
    LUNG = "lung"
    UNKNOWN = "unknown"
    OTHER = "other"


class Grade(StrEnum):
    """WHO grade of a digestive neuroendocrine neoplasm.

    WHO Classification of Tumours, Digestive System Tumours, 5th ed. (2019); Nagtegaal et al.,
    Histopathology 2020;76:182-188: well-differentiated NET G1 (Ki-67 < 3 %), G2 (3-20 %),
    G3 (> 20 %); poorly differentiated neuroendocrine carcinoma (NEC).
    """

    G1 = "G1"
    G2 = "G2"
    G3 = "G3"
    NEC = "NEC"


class Differentiation(StrEnum):
    """Histological differentiation (WHO 2019: well = NET, poor = NEC)."""

    WELL = "well"
    POOR = "poor"


class FunctionalSyndrome(StrEnum):
    """Hormonal syndrome of a functioning neuroendocrine tumour."""

    NONE = "none"
    CARCINOID = "carcinoid"
    INSULINOMA = "insulinoma"
    GASTRINOMA = "gastrinoma"
    VIPOMA = "vipoma"
    GLUCAGONOMA = "glucagonoma"
    OTHER = "other"


class PortalVeinThrombosis(StrEnum):
    """Extent of portal vein thrombosis: none, a branch, or the main portal vein."""

    NONE = "none"
    BRANCH = "branch"
    MAIN = "main"


class TimePointKind(StrEnum):
    """Role of an imaging time point in the course of treatment."""

    BASELINE = "baseline"
    """The reference examination for response assessment; exactly one per case."""
    FOLLOW_UP = "follow_up"
    """Response assessment after treatment; never dated before the baseline."""
    PLANNING = "planning"
    """Treatment planning, e.g. Tc-99m MAA SPECT before radioembolization."""
    TREATMENT = "treatment"
    """Imaging during the procedure, e.g. cone-beam CT."""
    POST_TREATMENT = "post_treatment"
    """Imaging right after treatment, e.g. Y-90 PET or bremsstrahlung SPECT."""


class TreatmentType(StrEnum):
    """Liver-directed and systemic treatments a tumour board weighs for NELM."""

    ABLATION = "ablation"
    TAE = "tae"
    CTACE = "ctace"
    DEBTACE = "debtace"
    TARE = "tare"
    PRRT = "prrt"
    RESECTION = "resection"
    TRANSPLANT = "transplant"
    SSA = "ssa"
    OTHER = "other"


class TareDevice(StrEnum):
    """Y-90 microsphere type: glass (TheraSphere) or resin (SIR-Spheres)."""

    GLASS = "glass"
    RESIN = "resin"


class ImageRole(StrEnum):
    """What an image is in the case: modality and contrast phase or tracer."""

    CT_UNENHANCED = "ct_unenhanced"
    CT_ARTERIAL = "ct_arterial"
    CT_PORTAL = "ct_portal"
    CT_DELAYED = "ct_delayed"
    CT_LOWDOSE = "ct_lowdose"
    CBCT = "cbct"
    MR_T1_PRE = "mr_t1_pre"
    MR_ARTERIAL = "mr_arterial"
    MR_PORTAL = "mr_portal"
    MR_HBP = "mr_hbp"
    MR_T2 = "mr_t2"
    MR_DWI = "mr_dwi"
    MR_ADC = "mr_adc"
    PET_SSTR = "pet_sstr"
    PET_FDG = "pet_fdg"
    SPECT_MAA = "spect_maa"
    PLANAR_MAA = "planar_maa"
    PET_Y90 = "pet_y90"
    SPECT_Y90 = "spect_y90"


class MaskRole(StrEnum):
    """What a mask outlines."""

    LIVER = "liver"
    LESIONS = "lesions"
    SEGMENTS = "segments"
    LUNGS = "lungs"
    PERFUSED = "perfused"
    SPLEEN = "spleen"
    BODY = "body"
    REFERENCE_LIVER = "reference_liver"
    PLANAR_LUNGS = "planar_lungs"
    """Lung ROI drawn on the anterior view of a planar MAA pair (image role ``planar_maa``)."""
    PLANAR_LIVER = "planar_liver"
    """Liver ROI drawn on the anterior view of a planar MAA pair (image role ``planar_maa``)."""


class FileFormat(StrEnum):
    """How an image or mask is stored, decided from the referenced path at load."""

    DICOM_SERIES = "dicom_series"
    """A folder holding one DICOM series (one file per slice, or several files)."""
    DICOM_FILE = "dicom_file"
    """A single DICOM file (``.dcm``, or any file with the ``DICM`` preamble), e.g. a
    multi-frame NM image, a DICOM SEG or an RTSTRUCT."""
    NIFTI = "nifti"
    """A NIfTI-1/2 file, ``.nii`` or ``.nii.gz``."""
