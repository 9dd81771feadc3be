"""Segmented property codes and tracking UIDs for DICOM SEG segments.

:data:`PROPERTY_KINDS` maps a kind of structure to its SNOMED CT (category, type) codes;
:func:`property_codes` picks them for a kind or a label name, :func:`tracking_uid_for` gives a
tracking ID its deterministic Tracking UID. :func:`~nelm.imaging.seg.write.write_seg` uses both.
"""

from __future__ import annotations

import re
from typing import Final

from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

__all__ = ["KIND_ALIASES", "PROPERTY_KINDS", "property_codes", "tracking_uid_for"]

_ANATOMY = codes.SCT.AnatomicalStructure  # SCT 91723000, CID 7150 Segmentation Property Categories
_ABNORMAL = codes.SCT.MorphologicallyAbnormalStructure  # SCT 49755003, CID 7150

#: Segmented property (category, type) per kind of structure, SNOMED CT codes from
#: ``pydicom.sr.codedict`` (DICOM PS3.16 CID 7150 "Segmentation Property Categories",
#: CID 7151 "Segmentation Property Types", CID 7159 "Lesion Segmentation Types"). Organs use
#: category "Anatomical Structure"; lesions "Morphologically Abnormal Structure" with type
#: "Neoplasm" (SCT 108369006), metastases "Neoplasm, Secondary" (SCT 14799000); structures nelm
#: cannot name (a perfused territory, a treatment volume) "Spatial and Relational Concept" /
#: "Region in Space" (DCM 130488).
PROPERTY_KINDS: Final[dict[str, tuple[Code, Code]]] = {
    "liver": (_ANATOMY, codes.SCT.Liver),
    "lesion": (_ABNORMAL, codes.SCT.Neoplasm),
    "metastasis": (_ABNORMAL, codes.SCT.NeoplasmSecondary),
    "necrosis": (_ABNORMAL, codes.SCT.Necrosis),
    "spleen": (_ANATOMY, codes.SCT.Spleen),
    "lung": (_ANATOMY, codes.SCT.Lung),
    "kidney": (_ANATOMY, codes.SCT.Kidney),
    "pancreas": (_ANATOMY, codes.SCT.Pancreas),
    "stomach": (_ANATOMY, codes.SCT.Stomach),
    "aorta": (_ANATOMY, codes.SCT.Aorta),
    "portal vein": (_ANATOMY, codes.SCT.PortalVein),
    "hepatic artery": (_ANATOMY, codes.SCT.HepaticArtery),
    "region": (codes.SCT.SpatialAndRelationalConcept, codes.DCM.RegionInSpace),
}

#: Other words for the kinds of :data:`PROPERTY_KINDS`.
KIND_ALIASES: Final[dict[str, str]] = {
    "tumour": "lesion",
    "tumor": "lesion",
    "neoplasm": "lesion",
    "nodule": "lesion",
    "mass": "lesion",
    "metastases": "metastasis",
    "lungs": "lung",
    "kidneys": "kidney",
}

# Name fragments that make a label a lesion, tested before organ names ("liver lesion 3").
_LESION_WORDS: Final[tuple[tuple[str, str], ...]] = (
    ("metasta", "metastasis"),
    ("necro", "necrosis"),
    ("lesion", "lesion"),
    ("tumo", "lesion"),
    ("neoplas", "lesion"),
    ("nodul", "lesion"),
    ("mass", "lesion"),
)


def property_codes(kind_or_name: str) -> tuple[Code, Code]:
    """Segmented property (category, type) codes for a kind of structure or a label name.

    ``kind_or_name`` is first matched against :data:`PROPERTY_KINDS` and its aliases
    (``"tumour"``, ``"tumor"``, ``"neoplasm"`` → ``"lesion"`` …); otherwise it is read as a
    label name: names mentioning a lesion (``"lesion 3"``, ``"liver tumour"``, ``"metastasis
    S7"``) are lesions, then names containing an organ of the table (``"Liver"``, ``"left
    kidney"``) that organ; anything else is a ``"region"``.
    """
    key = " ".join(kind_or_name.lower().replace("_", " ").split())
    key = KIND_ALIASES.get(key, key)
    if key in PROPERTY_KINDS:
        return PROPERTY_KINDS[key]
    for fragment, kind in _LESION_WORDS:
        if fragment in key:
            return PROPERTY_KINDS[kind]
    words = set(re.findall(r"[a-z]+", key))
    for kind in PROPERTY_KINDS:
        if kind != "region" and (kind in key if " " in kind else kind in words):
            return PROPERTY_KINDS[kind]
    for alias, kind in KIND_ALIASES.items():
        if alias in words:
            return PROPERTY_KINDS[kind]
    return PROPERTY_KINDS["region"]


def tracking_uid_for(namespace: str, tracking_id: str) -> str:
    """The deterministic Tracking UID nelm gives a tracking ID that has none.

    ``generate_uid(entropy_srcs=["nelm tracking uid", namespace, tracking_id])`` (pydicom: the
    UID is the pydicom root plus a SHA-512 hash of the sources). :func:`write_seg` uses the
    source series' Patient ID (0010,0020) as ``namespace`` unless the caller passes one, so the
    same lesion ID of the same patient gets the same UID at every time point, and different
    patients' ``"L1"`` get different UIDs.
    """
    return str(generate_uid(entropy_srcs=["nelm tracking uid", namespace, tracking_id]))
