"""Read and write case manifests (YAML or JSON, schema version 1).

:func:`load_case` reads a ``.yaml``/``.yml`` file (PyYAML's safe loader, extended only to reject
duplicate keys, which the YAML spec forbids and PyYAML would silently resolve to the last one) or
a ``.json`` file (duplicate keys rejected likewise), checks the schema version, and validates the
:class:`~nelm.case.model.Case` with paths resolved against the manifest's folder. Every problem
ends in one :class:`~nelm.errors.ManifestError` naming the file and each failing field.

:func:`dump_case` writes the manifest form back (unit strings in canonical units, paths relative
to the new file's folder) atomically, so that ``load_case(dump_case(load_case(x), y)) ==
load_case(x)``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import write_text_atomic
from nelm.case.messages import manifest_error
from nelm.case.model import Case, ImageRef, MaskRef
from nelm.case.validation import ManifestContext
from nelm.errors import ManifestError

__all__ = [
    "SUPPORTED_VERSIONS",
    "case_from_dict",
    "dump_case",
    "load_case",
    "manifest_dict",
    "read_document",
]

logger = logging.getLogger(__name__)

#: Manifest schema versions this nelm reads.
SUPPORTED_VERSIONS: Final[tuple[int, ...]] = (1,)

_YAML_SUFFIXES: Final = (".yaml", ".yml")
_SUFFIXES: Final = (*_YAML_SUFFIXES, ".json")
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key repeated within one mapping."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = first_line.get(key)
        except TypeError:  # an unhashable key; the constructor below reports it
            continue
        if seen is not None:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first given on line {seen}); keep one",
                key_node.start_mark,
            )
        first_line[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


class _DuplicateJsonKey(ValueError):
    pass


def _unique_json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateJsonKey(f"duplicate key {key!r}; keep one")
        out[key] = value
    return out


def _parse(text: str, suffix: str, source: str) -> object:
    if suffix == ".json":
        try:
            return json.loads(text, object_pairs_hook=_unique_json_pairs)
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"{source}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
            ) from None
        except _DuplicateJsonKey as exc:
            raise ManifestError(f"{source}: invalid JSON: {exc}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        reason = str(exc.problem or "")
        if exc.context:
            reason += f" ({exc.context})"
        raise ManifestError(f"{source}: {where}invalid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: invalid YAML: {exc}") from None


def read_document(
    path: str | os.PathLike[str], *, what: str, first_line: str, top_keys: str
) -> dict[str, Any]:
    """Read a nelm YAML or JSON input document into its top-level mapping.

    The one reader of every nelm input file (case manifests, Y-90 plan files): the same
    checks and messages for each.

    Parameters
    ----------
    path:
        A ``.yaml``, ``.yml`` or ``.json`` file.
    what:
        What the file is, for messages (``"case manifest"``).
    first_line:
        The line the document starts with (``"nelm_manifest: 1"``), suggested when it is empty.
    top_keys:
        The top-level keys, listed when the document is not a mapping.

    Raises
    ------
    ManifestError
        The file is missing, a folder, of another type, unreadable, not UTF-8, not valid YAML/JSON
        (with line and column), has duplicate keys, is empty, or is not a mapping.
    """
    source = os.fspath(path)
    document = Path(path)
    if not document.exists():
        raise ManifestError(f"{source}: {what} not found")
    if document.is_dir():
        raise ManifestError(f"{source}: is a folder; give the {what} file (.yaml, .yml or .json)")
    suffix = document.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ManifestError(
            f"{source}: unknown file type {suffix or '(none)'!r} for a {what}; use .yaml, .yml or .json"
        )
    try:
        raw = document.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{source}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{source}: not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise ManifestError(f"{source}: the file is empty; a {what} starts with '{first_line}'")
    data = _parse(text, suffix, source)
    if data is None:
        raise ManifestError(f"{source}: the file holds no data (only comments?); it needs '{first_line}'")
    if not isinstance(data, dict):
        raise ManifestError(
            f"{source}: the top level must be a mapping of keys ({top_keys}), got a {type(data).__name__}"
        )
    return data


def load_case(path: str | os.PathLike[str]) -> Case:
    """Load and validate a case manifest.

    Parameters
    ----------
    path:
        A ``.yaml``, ``.yml`` or ``.json`` file. Relative paths inside it are resolved against its
        folder.

    Returns
    -------
    Case
        The validated case, with :attr:`~nelm.case.model.Case.manifest_path` set.

    Raises
    ------
    ManifestError
        The file is missing, unreadable, not UTF-8, not valid YAML/JSON (the message gives the
        line and column), empty, not a mapping at the top level, of an unsupported schema version,
        or invalid (:class:`~nelm.case.messages.ManifestValidationError`, one line per field).
    """
    source = os.fspath(path)
    data = read_document(
        path,
        what="case manifest",
        first_line="nelm_manifest: 1",
        top_keys="nelm_manifest, case_id, patient, clinical, time_points, treatments",
    )
    manifest = Path(path)
    absolute = Path(os.path.abspath(manifest))
    case = case_from_dict(data, root=absolute.parent, source=source, manifest_path=absolute)
    logger.debug("loaded case %s from %s (%d time points)", case.case_id, source, len(case.time_points))
    return case


def case_from_dict(
    data: Mapping[str, Any],
    *,
    root: str | os.PathLike[str],
    source: str = "<manifest>",
    manifest_path: str | os.PathLike[str] | None = None,
) -> Case:
    """Validate a manifest already parsed into a mapping.

    Parameters
    ----------
    data:
        The manifest's top-level mapping.
    root:
        Folder that relative paths are resolved against.
    source:
        Name of the manifest for messages.
    manifest_path:
        Recorded as :attr:`~nelm.case.model.Case.manifest_path`.

    Raises
    ------
    ManifestError
        Unsupported schema version, or every validation problem in one message.
    """
    version = data.get("nelm_manifest")
    supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
    if "nelm_manifest" not in data:
        raise ManifestError(
            f"{source}: nelm_manifest: required; add 'nelm_manifest: 1' at the top "
            f"(supported schema versions: {supported})"
        )
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        raise ManifestError(
            f"{source}: nelm_manifest: schema version {version!r} is not supported; "
            f"this nelm reads versions: {supported}"
        )
    context = ManifestContext(
        root=Path(os.path.abspath(root)),
        manifest_path=None if manifest_path is None else Path(os.path.abspath(manifest_path)),
    )
    try:
        return Case.model_validate(dict(data), context=context.as_context())
    except ValidationError as exc:
        raise manifest_error(exc, source, Case) from None


def _number(value: float) -> str:
    # The shortest text that reads back as the same float; "72" rather than "72.0".
    text = repr(float(value))
    return text.removesuffix(".0")


def _relative(path: Path, root: Path | None) -> str:
    if root is None:
        return path.as_posix()
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:  # another drive (Windows)
        return path.as_posix()


def _ref(ref: ImageRef | MaskRef, root: Path | None) -> str | dict[str, Any]:
    path = _relative(ref.path, root)
    extra: dict[str, Any] = {}
    if isinstance(ref, ImageRef) and ref.series_uid is not None:
        extra["series_uid"] = ref.series_uid
    if isinstance(ref, MaskRef) and ref.image is not None:
        extra["image"] = ref.image.value
    if isinstance(ref, MaskRef) and ref.labels is not None:
        extra["labels"] = list(ref.labels)
    return {"path": path, **extra} if extra else path


def manifest_dict(
    case: Case, *, root: str | os.PathLike[str] | None = None, include_identifiers: bool = True
) -> dict[str, Any]:
    """The manifest form of a case: manifest keys, unit strings, ISO dates, relative paths.

    Parameters
    ----------
    case:
        The case.
    root:
        Folder the paths are written relative to (default: the case's :attr:`root`; absolute
        paths when neither is known).
    include_identifiers:
        Keep the patient's name, id and birth date.
    """
    base = Path(os.path.abspath(root)) if root is not None else case.root
    out: dict[str, Any] = {"nelm_manifest": case.nelm_manifest, "case_id": case.case_id}
    p = case.patient
    patient: dict[str, Any] = {}
    if include_identifiers:
        patient.update(
            name=p.name, id=p.id, birth_date=None if p.birth_date is None else p.birth_date.isoformat()
        )
    patient.update(
        sex=None if p.sex is None else p.sex.value,
        weight=None if p.weight_kg is None else f"{_number(p.weight_kg)} kg",
        height=None if p.height_cm is None else f"{_number(p.height_cm)} cm",
    )
    patient = {k: v for k, v in patient.items() if v is not None}
    if patient:
        out["patient"] = patient
    clinical = case.clinical.model_dump(mode="json", exclude_none=True)
    if clinical:
        out["clinical"] = clinical
    points = []
    for point in case.time_points:
        entry: dict[str, Any] = {"id": point.id, "date": point.date.isoformat(), "kind": point.kind.value}
        if point.images:
            entry["images"] = {role.value: _ref(ref, base) for role, ref in point.images.items()}
        if point.masks:
            entry["masks"] = {role.value: _ref(ref, base) for role, ref in point.masks.items()}
        points.append(entry)
    out["time_points"] = points
    treatments = []
    for t in case.treatments:
        item: dict[str, Any] = {
            "type": t.type.value,
            "date": t.date.isoformat(),
            "device": t.device,
            "activity": None if t.activity_gbq is None else f"{_number(t.activity_gbq)} GBq",
            "target": t.target,
            "lung_dose": None if t.lung_dose_gy is None else f"{_number(t.lung_dose_gy)} Gy",
            "notes": t.notes or None,
        }
        treatments.append({k: v for k, v in item.items() if v is not None})
    if treatments:
        out["treatments"] = treatments
    return out


def dump_case(case: Case, path: str | os.PathLike[str], *, include_identifiers: bool = True) -> Path:
    """Write a case as a manifest, atomically (nothing half-written).

    Parameters
    ----------
    case:
        The case.
    path:
        Target ``.yaml``/``.yml`` (YAML) or ``.json`` file; image and mask paths are written
        relative to its folder.
    include_identifiers:
        Keep the patient's name, id and birth date (a manifest is an input, not an output, so
        they are kept by default).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ManifestError
        Unknown file type.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ManifestError(
            f"{os.fspath(path)}: cannot write a manifest of type {suffix or '(none)'!r}; "
            "use .yaml, .yml or .json"
        )
    data = manifest_dict(
        case, root=Path(os.path.abspath(target)).parent, include_identifiers=include_identifiers
    )
    if suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        header = f"# nelm case manifest, schema version {case.nelm_manifest}. {RESEARCH_USE_DISCLAIMER}\n"
        text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    written = write_text_atomic(target, text)
    logger.debug("wrote case %s to %s", case.case_id, written)
    return written
