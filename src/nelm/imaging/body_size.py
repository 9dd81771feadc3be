"""Body-size normalisers of SUV: lean body mass (James, Janmahasatian) and body surface area
(DuBois); reference/response-criteria.md §5.1. Re-exported by :mod:`nelm.imaging.suv`.
"""

from __future__ import annotations

from typing import Final, Literal

from nelm.errors import UnitsError

__all__ = [
    "JAMES_FEMALE_COEFFICIENT",
    "JAMES_MALE_COEFFICIENT",
    "body_surface_area_m2",
    "lean_body_mass_kg",
]

#: James LBM coefficients of (W/H_cm)²: male 128 (James 1976 as used by PERCIST, Wahl 2009, and
#: DICOM SUV Type LBMJAMES128), female 148. response-criteria.md §5.1 / §1.6.
JAMES_MALE_COEFFICIENT: Final[float] = 128.0
JAMES_FEMALE_COEFFICIENT: Final[float] = 148.0


def _require_sex(sex: str, what: str, source: str) -> str:
    s = sex.strip().upper()
    if s not in ("M", "F"):
        shown = repr(sex) if sex else "missing"
        raise UnitsError(
            f"{source}: {what} needs Patient's Sex (0010,0040) M or F, got {shown}; the lean-body-mass "
            "formulas have male and female forms only. Supply the sex or use normalisation 'bw'"
        )
    return s


def lean_body_mass_kg(
    weight_kg: float,
    height_m: float,
    sex: str,
    *,
    formula: Literal["james", "janmahasatian"],
    james_male_coefficient: float = JAMES_MALE_COEFFICIENT,
    source: str = "",
) -> float:
    """Lean body mass (kg).

    James (James 1976; PERCIST, Wahl et al. JNM 2009): male ``1.10·W − 128·(W/H_cm)²``, female
    ``1.07·W − 148·(W/H_cm)²``; calculate-suv and the Ultima360 manual use 120 for men
    (response-criteria.md §5.1). Janmahasatian (Clin Pharmacokinet 2005; EANM 2015 guideline,
    Tahari et al. JNM 2014): male ``9270·W/(6680 + 216·BMI)``, female ``9270·W/(8780 + 244·BMI)``
    with BMI = W/H_m².

    Raises
    ------
    UnitsError
        Sex not M/F, or a non-positive result (James breaks down at high BMI; Tahari 2014).
    """
    s = _require_sex(sex, f"lean body mass ({formula})", source or "SUV")
    if formula == "james":
        h_cm = height_m * 100.0
        a, b = (1.10, james_male_coefficient) if s == "M" else (1.07, JAMES_FEMALE_COEFFICIENT)
        lbm = a * weight_kg - b * (weight_kg / h_cm) ** 2
    else:
        bmi = weight_kg / height_m**2
        lbm = 9270.0 * weight_kg / ((6680.0 + 216.0 * bmi) if s == "M" else (8780.0 + 244.0 * bmi))
    if not lbm > 0:
        raise UnitsError(
            f"{source or 'SUV'}: the {formula} lean body mass of W {weight_kg} kg, H {height_m} m is "
            f"{lbm:.3g} kg; the formula is invalid at this BMI (use 'lbm_janmahasatian')"
        )
    return lbm


def body_surface_area_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area after DuBois & DuBois (1916): ``0.007184 · W^0.425 · H_cm^0.725`` m².

    calculate-suv ``calculateSUVbsaScalingFactor.ts`` writes it as ``× 71.84`` to give cm²
    (response-criteria.md §5.1).
    """
    return float(0.007184 * weight_kg**0.425 * (height_m * 100.0) ** 0.725)
