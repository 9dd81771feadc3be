"""The results document: one JSON object holding everything a run computed.

:func:`build_document` turns a :class:`~nelm.report.results.RunResults` into a plain, JSON-ready
``dict`` that follows the versioned JSON Schema shipped with nelm
(``nelm/report/schema/nelm-results-1.json``, :func:`load_schema`). The HTML/PDF report is
rendered from this document, so the report and the JSON always show the same numbers.

Top-level keys, in this order: ``nelm_results`` (the schema's major version), ``schema`` (the
schema file name), ``nelm_version``, ``disclaimer``, ``case``, ``stages``, ``quantification``,
``response``, ``y90`` (``plan`` and ``dose``), ``decision``, ``imaging_advice``, ``methods`` and
``outputs``.

Versioning: an additive change (a new optional key) keeps ``nelm_results: 1`` and the schema
file; a change that removes, renames or retypes a key bumps the major version and the schema
file name (``nelm-results-2.json``).

Determinism: the document holds no wall-clock time and no absolute path; the same inputs give
the same JSON text (:func:`dumps`). Paths of input files are POSIX text relative to the case
folder (:attr:`nelm.case.Case.root`); paths of outputs are relative to the output folder. Dict
order is the order the modules produced (stable); mappings without a meaningful order
(``outputs``, ``methods.quantification``) are sorted.

De-identification (unless ``results.include_identifiers``):

* ``case``: :meth:`~nelm.case.Case.to_json_dict` drops the patient's name, ID and birth date;
* every string of the document (keys included) is scrubbed, case-insensitively, of the
  patient's name (as ``Family^Given``, ``Family Given``, ``Family, Given`` and ``Given Family``),
  ID and birth date (ISO and DICOM ``YYYYMMDD`` forms), and of the PatientName, PatientID,
  AccessionNumber, InstitutionName and ReferringPhysicianName read from any loaded series
  (:class:`~nelm.imaging.metadata.PatientIdentity`); an occurrence becomes ``[removed]``.
  Values shorter than three characters and single name components are not scrubbed (they
  would hit ordinary words and the case's pseudonym);
* the quantification's mask provenance (``masks``: ``given: /abs/path``) and the response
  tracking's mask paths (``reference``, ``follow_up``) are made relative to the case folder,
  so no folder name outside the case (often a patient's name or MRN) leaks.

The dumps of the quantification, response and Y-90 modules carry no DICOM header fields (series
descriptions, UIDs and identity stay in the loaded volumes' metadata, which is not copied); the
time-point dates and the patient's sex, weight and height are kept, because the results need them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from nelm import RESEARCH_USE_DISCLAIMER, __version__
from nelm.atomic import write_text_atomic

if TYPE_CHECKING:
    from nelm.report.results import RunResults

__all__ = [
    "SCHEMA_MAJOR",
    "SCHEMA_NAME",
    "build_document",
    "dumps",
    "load_schema",
    "schema_path",
    "write_document",
]

logger = logging.getLogger(__name__)

#: Major version of the results document (``nelm_results``); see the module docstring.
SCHEMA_MAJOR: Final[int] = 1
#: File name of the JSON Schema of this major version, in ``nelm/report/schema/``.
SCHEMA_NAME: Final[str] = f"nelm-results-{SCHEMA_MAJOR}.json"
#: What replaces an identifier found in a string.
REMOVED: Final[str] = "[removed]"
#: Shorter identifier values are not scrubbed from free text (they would hit ordinary words).
_MIN_IDENTIFIER_CHARS: Final[int] = 3


def schema_path() -> Path:
    """Path of the shipped JSON Schema of the results document."""
    return Path(str(resources.files("nelm.report").joinpath("schema", SCHEMA_NAME)))


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the results document."""
    loaded: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return loaded


# -- identifiers and paths -------------------------------------------------------------------


def _identifiers(results: RunResults) -> list[str]:
    """Identifying strings of the patient, longest first (so a full name goes before a part)."""
    found: set[str] = set()
    patient = results.case.patient
    for attr in ("name", "id"):
        value = getattr(patient, attr, None)
        if value:
            found.add(str(value))
    name = getattr(patient, "name", None)
    if name:
        found.update(_name_forms(str(name)))
    birth = getattr(patient, "birth_date", None)
    if birth is not None:
        found.update({birth.isoformat(), birth.strftime("%Y%m%d")})
    for tpd in results.data.values():
        volumes = list(tpd.images.values()) + [v for views in tpd.planar.values() for v in views.values()]
        for vol in volumes:
            ident = vol.metadata.identity
            for value in (
                ident.patient_name,
                ident.patient_id,
                ident.accession_number,
                ident.institution_name,
                ident.referring_physician_name,
            ):
                if value:
                    found.update(_name_forms(str(value)))
    return sorted((f for f in found if len(f) >= _MIN_IDENTIFIER_CHARS), key=lambda s: (-len(s), s))


def _name_forms(value: str) -> set[str]:
    """A DICOM person name (``Family^Given^Middle``) as written in DICOM and in prose."""
    value = value.strip()
    parts = [p.strip() for p in value.split("^") if p.strip()]
    forms = {value}
    if len(parts) > 1:
        forms |= {" ".join(parts), ", ".join(parts[:2]), " ".join(reversed(parts[:2]))}
    return forms


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` with ``fn`` applied to every string (keys included)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, Mapping):
        return {fn(str(k)): _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, fn) for v in value]
    return value


def _scrubber(identifiers: Iterable[str]) -> Callable[[str], str]:
    ids = [i for i in identifiers if i]
    if not ids:
        return lambda s: s
    pattern = re.compile("|".join(re.escape(i) for i in ids), re.IGNORECASE)
    return lambda s: pattern.sub(REMOVED, s)


def _relativiser(root: Path | None) -> Callable[[str], str]:
    """Rewrite absolute paths under ``root`` inside a string as paths relative to ``root``."""
    if root is None or len(root.parts) < 2:  # no case folder, or the filesystem root itself
        return lambda s: s
    prefixes = {root.as_posix().rstrip("/") + "/"}
    with contextlib.suppress(OSError):  # resolve only fails on broken mounts
        prefixes.add(root.resolve().as_posix().rstrip("/") + "/")
    pattern = re.compile("|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True)))
    return lambda s: pattern.sub("", s)


# -- sections --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready copy: tuples to lists, non-finite floats to ``None``, other objects to text."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    return str(value)


def _dump(obj: Any) -> dict[str, Any] | None:
    """``model_dump(mode="json")`` of a pydantic model (duck-typed), ``None`` for ``None``."""
    if obj is None:
        return None
    dumped = obj.model_dump(mode="json")
    if not isinstance(dumped, dict):
        raise TypeError(f"{type(obj).__name__}.model_dump returned {type(dumped).__name__}, not a dict")
    return dumped


def _quant_methods(results: RunResults) -> list[dict[str, Any]]:
    """Quantification settings, one entry per distinct setting set with the time points using it."""
    from nelm.quant.burden import BURDEN_CATEGORIES
    from nelm.quant.diameters import MAX_AXIAL_TILT_DEG
    from nelm.quant.lesions import DEFAULT_MIN_LESION_VOLUME_ML, DEFAULT_RIGHT_LOBE_VOLUME_FRACTION

    groups: dict[str, dict[str, Any]] = {}
    for q in results.quants:
        settings = _plain(q.settings)
        key = json.dumps(settings, sort_keys=True)
        groups.setdefault(key, {"time_points": [], "settings": settings})["time_points"].append(q.time_point)
    constants = {
        "burden_categories_upper_percent_inclusive": [
            {"upper_percent": None if upper is None else str(upper), "category": name}
            for upper, name in BURDEN_CATEGORIES
        ],
        "burden_categories_source": "Luo et al., Eur Radiol 2019 (hepatic tumour burden categories)",
        "max_axial_tilt_deg": MAX_AXIAL_TILT_DEG,
        "min_lesion_volume_ml": DEFAULT_MIN_LESION_VOLUME_ML,
        "right_lobe_volume_fraction_without_segments": DEFAULT_RIGHT_LOBE_VOLUME_FRACTION,
    }
    return [{**g, "constants": constants} for _, g in sorted(groups.items())]


def _response_methods(results: RunResults) -> dict[str, Any] | None:
    a = results.response
    if a is None:
        return None
    tracking = [
        {"time_point": t.get("time_point"), "settings": _plain(t.get("settings", {}))} for t in a.tracking
    ]
    return {
        "criteria": [
            {"criterion": c.criterion, "source": c.source, "settings": dict(c.settings)} for c in a.criteria
        ],
        "tracking": tracking,
    }


def _y90_methods(results: RunResults) -> dict[str, Any] | None:
    from nelm.y90.dvh import DEFAULT_METRICS

    plan, dose = results.y90_plan, results.y90_dose
    if plan is None and dose is None:
        return None
    out: dict[str, Any] = {"dvh_metrics": list(DEFAULT_METRICS)}
    if plan is not None:
        out["plan"] = {
            "constants": plan.constants.as_dict(),
            "input_sources": dict(sorted(plan.sources.items())),
            "models": [
                {
                    "model": p.model.value,
                    "prescription": _plain(p.prescription),
                    "formula": p.formula,
                    "sources": list(p.sources),
                }
                for p in plan.plans
            ],
            "safety_limits": _plain(plan.limits.as_dict()),
            "safety_limits_overridden": plan.limits.overridden(),
            "safety_limits_note": (
                "the safety limits applied to this plan: nelm's defaults except those the plan file "
                "overrides (listed); each finding also states the limit it was checked against"
            ),
        }
    if dose is not None:
        d = dose.dose
        out["dose"] = {
            "method": d.method.value,
            "kernel_source": d.kernel_source,
            "reference_density_g_per_ml": d.reference_density_g_per_ml,
            "density_corrected": d.density_corrected,
            "constants": d.constants.as_dict(),
        }
    return out


def _methods(results: RunResults) -> dict[str, Any]:
    return {
        "quantification": _quant_methods(results),
        "response": _response_methods(results),
        "y90": _y90_methods(results),
    }


def _rel_output(path: str, root: str | None) -> str:
    p = Path(path)
    if p.is_absolute():
        if root is None:
            raise ValueError(f"output path {path} is absolute; give it relative to the output folder")
        p = Path(os.path.relpath(p, root))
    return PurePosixPath(*p.parts).as_posix()


def build_document(
    results: RunResults,
    outputs: Mapping[str, str] | None = None,
    *,
    output_root: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The results document of a run (see the module docstring for its shape and guarantees).

    Parameters
    ----------
    results:
        What the run computed.
    outputs:
        Output file (relative to the output folder, or absolute under ``output_root``) →
        one-line description; listed sorted by path.
    output_root:
        The output folder, to make absolute ``outputs`` keys relative.
    """
    case = results.case
    root = None if output_root is None else os.fspath(output_root)
    doc: dict[str, Any] = {
        "nelm_results": SCHEMA_MAJOR,
        "schema": SCHEMA_NAME,
        "nelm_version": __version__,
        "disclaimer": RESEARCH_USE_DISCLAIMER,
        "case": case.to_json_dict(include_identifiers=results.include_identifiers),
        "stages": [s.to_dict() for s in results.stages],
        "quantification": [q.model_dump(mode="json") for q in results.quants],
        "response": _dump(results.response),
        "y90": {
            "plan": None if results.y90_plan is None else results.y90_plan.to_dict(),
            "dose": None if results.y90_dose is None else results.y90_dose.to_dict(),
        },
        "decision": _dump(results.decision),
        "imaging_advice": _dump(results.imaging_advice),
        "methods": _methods(results),
        "outputs": {
            _rel_output(k, root): str(v) for k, v in sorted((outputs or {}).items(), key=lambda kv: kv[0])
        },
    }
    doc["outputs"] = dict(sorted(doc["outputs"].items()))
    relative = _relativiser(case.root)
    if results.include_identifiers:
        fix = relative
    else:
        scrub = _scrubber(_identifiers(results))

        def fix(s: str) -> str:
            return scrub(relative(s))

    cleaned: dict[str, Any] = _plain(_walk(doc, fix))
    return cleaned


def dumps(doc: Mapping[str, Any]) -> str:
    """The document as JSON text: 2-space indent, UTF-8 characters kept, trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_document(doc: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the document atomically (temporary file renamed into place) and return its path."""
    write_text_atomic(path, dumps(doc))
    return Path(path)
