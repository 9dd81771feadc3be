"""Named, configurable thresholds of the decision rules.

Every threshold a rule compares against is a :class:`Parameter` here: its default, its unit (also
in its name), its source, and, where the sources disagree (clinical-rules.md ⚠ DISAGREE), the
alternatives. :class:`Thresholds` holds the values in force; :func:`load_thresholds` reads
overrides from a YAML or JSON file::

    # thresholds.yaml
    nelm_decision_thresholds: 1          # optional version key
    resection_debulking_percent: 70      # the 70 % school instead of 90 %
    transplant_age_max_years: 60
    debtace_level: CAUTION

Values are exact: numbers become :class:`decimal.Decimal` from their written decimal text (a YAML
``0.1`` is ``Decimal("0.1")``), so comparisons at a boundary are exact (DESIGN.md §4).
Defaults of the Y-90 limits are those of :class:`nelm.y90.safety.SafetyLimits`, so ``nelm y90
plan`` and ``nelm advise`` start from the same numbers.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final

from nelm.case.load import read_document
from nelm.decision.levels import Level
from nelm.errors import ConfigError, ManifestError
from nelm.y90.safety import SafetyLimits

__all__ = ["PARAMETERS", "Parameter", "ThresholdValue", "Thresholds", "load_thresholds"]

ThresholdValue = Decimal | Level

_VERSION_KEY: Final = "nelm_decision_thresholds"


def _dec(value: float | int | str) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


@dataclass(frozen=True)
class Parameter:
    """One configurable threshold.

    Parameters
    ----------
    name:
        Unique key; the unit is its suffix (``_mm``, ``_percent``, ``_mg_dl`` ...).
    default:
        A :class:`~decimal.Decimal` or a :class:`~nelm.decision.levels.Level`.
    unit:
        Unit for display (``"mm"``, ``"%"``); empty for levels and counts.
    description:
        What it is and how the rule compares (inclusive or exclusive).
    citations:
        Ids in :data:`nelm.decision.citations.CITATIONS`.
    disagreement:
        The alternatives when the sources disagree (⚠ DISAGREE), else ``None``.
    minimum, maximum:
        Allowed range of a number (inclusive).
    integer:
        Whether the number must be whole (ECOG, counts, months, days).
    """

    name: str
    default: ThresholdValue
    unit: str
    description: str
    citations: tuple[str, ...]
    disagreement: str | None = None
    minimum: Decimal = Decimal(0)
    maximum: Decimal | None = None
    integer: bool = False

    def text(self, value: ThresholdValue) -> str:
        """``value`` with its unit, e.g. ``"30 mm"``."""
        if isinstance(value, Level):
            return value.value
        shown = format(value.normalize(), "f")
        return f"{shown} {self.unit}".strip() if self.unit != "%" else f"{shown} %"

    def check(self, raw: object, where: str) -> ThresholdValue:
        """``raw`` validated and converted; :class:`ConfigError` naming ``where`` otherwise."""
        if isinstance(self.default, Level):
            try:
                return Level(str(raw).upper())
            except ValueError:
                allowed = ", ".join(level.value for level in Level)
                raise ConfigError(f"{where}: {raw!r} is not a level; use one of {allowed}") from None
        if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
            raise ConfigError(f"{where}: must be a number in {self.unit or 'units of the name'}, got {raw!r}")
        try:
            value = raw if isinstance(raw, Decimal) else _dec(raw)
        except (InvalidOperation, ValueError):
            raise ConfigError(f"{where}: {raw!r} is not a number") from None
        if not value.is_finite():
            raise ConfigError(f"{where}: must be a finite number, got {raw!r}")
        if self.integer and value != value.to_integral_value():
            raise ConfigError(f"{where}: must be a whole number, got {raw!r}")
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            upper = "" if self.maximum is None else f" to {self.maximum}"
            raise ConfigError(f"{where}: {raw!r} is outside the allowed range {self.minimum}{upper}")
        return value


_LIMITS = SafetyLimits()
_P100 = Decimal(100)


def _p(
    name: str,
    default: ThresholdValue | float | int | str,
    unit: str,
    description: str,
    citations: tuple[str, ...],
    *,
    disagreement: str | None = None,
    maximum: Decimal | None = None,
    integer: bool = False,
) -> Parameter:
    value = default if isinstance(default, Level | Decimal) else _dec(default)
    if unit == "%" and maximum is None:
        maximum = _P100
    return Parameter(name, value, unit, description, citations, disagreement, Decimal(0), maximum, integer)


_DISAGREE_G1 = (
    "WHO 2010: G1 Ki-67 <=2 % (a case whose who_classification names 2010 uses it); WHO 2017/2019: <3 %"
)

PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        # --- grading (§1)
        _p(
            "who2019_g1_below_ki67_percent",
            3,
            "%",
            "WHO 2017/2019: G1 if Ki-67 < this (exclusive)",
            ("who2019",),
            disagreement=_DISAGREE_G1,
        ),
        _p(
            "who2010_g1_max_ki67_percent",
            2,
            "%",
            "WHO 2010: G1 if Ki-67 <= this (inclusive)",
            ("who2010",),
            disagreement=_DISAGREE_G1,
        ),
        _p("g3_above_ki67_percent", 20, "%", "G3 if Ki-67 > this (exclusive)", ("who2019",)),
        # --- resection (§2.1)
        _p(
            "resection_debulking_percent",
            90,
            "%",
            "resection APPROPRIATE if the resectable/ablatable share of tumour is >= this",
            ("jcm2023", "nelm_review_2020"),
            disagreement=(
                "90 % (Mayo: Que 1995, Sarmiento 2003) vs 70 % (Chambers 2008, Graff-Baker 2014, "
                "Boudreaux 2014, Maxwell 2015/16, Scott 2019; NANETS 2017 [B])"
            ),
        ),
        _p(
            "resection_type2_above_percent",
            70,
            "%",
            "JCM 2023 Type 2 if the debulking achievable is > this (exclusive); Type 3 otherwise",
            ("jcm2023",),
        ),
        _p(
            "resection_flr_min_percent",
            20,
            "%",
            "future liver remnant below this (exclusive) contraindicates resection (normal liver) [B]",
            ("flr_convention",),
            disagreement="20 % normal liver; 30 % after heavy chemotherapy; 40 % in cirrhosis [B]",
        ),
        _p(
            "resection_ecog_caution_above",
            1,
            "",
            "ECOG above this: CAUTION for major liver surgery (nelm's choice; the source gives no number)",
            ("nelm_review_2020",),
            maximum=Decimal(4),
            integer=True,
        ),
        _p(
            "resection_ecog_max",
            2,
            "",
            "ECOG above this: unfit for major liver surgery (nelm's choice, RETNET's PS 0-2)",
            ("nelm_review_2020", "retnet_table1"),
            maximum=Decimal(4),
            integer=True,
        ),
        # --- transplant (§2.2)
        _p(
            "transplant_burden_max_percent",
            50,
            "%",
            "Milan-NET: hepatic involvement <= this (inclusive)",
            ("mazzaferro2007",),
        ),
        _p(
            "transplant_age_max_years",
            55,
            "years",
            "Milan-NET: age <= this (inclusive); above: CAUTION",
            ("mazzaferro2007", "citterio2023"),
            disagreement="<=55 (Mazzaferro 2007) vs <=60 (later secondary summaries [B])",
            maximum=Decimal(120),
            integer=True,
        ),
        _p(
            "transplant_stable_months_min",
            6,
            "months",
            "Milan-NET: response or stable disease for >= this before transplant",
            ("mazzaferro2007", "citterio2023"),
            disagreement="6 months (Mazzaferro 2007) vs 3-6 months before listing (Citterio 2023)",
            maximum=Decimal(120),
        ),
        _p(
            "transplant_ki67_caution_percent",
            10,
            "%",
            "Ki-67 >= this: CAUTION (later Milan wording 'G1-G2 or Ki-67 <10 %')",
            ("citterio2023", "sposito2017"),
            disagreement="original Milan-NET: 'low grade'; later text: Ki-67 <10 %",
        ),
        # --- ablation (§2.3)
        _p(
            "ablation_size_caution_mm",
            30,
            "mm",
            "largest lesion > this (exclusive): CAUTION (HCC-derived '<=3 cm optimal')",
            ("hcc_rfa_convention", "ablation_heat_sink"),
            disagreement="HCC-derived convention; no NET-specific standard found",
            maximum=Decimal(500),
        ),
        _p(
            "ablation_size_max_mm",
            50,
            "mm",
            "largest lesion > this (exclusive): strong CAUTION (incomplete ablation; payer policy <=5 cm)",
            ("anthem_cg_surg_78", "ablation_heat_sink"),
            maximum=Decimal(500),
        ),
        _p(
            "ablation_max_lesions",
            3,
            "lesions",
            "more lesions than this: CAUTION (ablation for few metastases; '<=3 nodules' HCC convention)",
            ("cazzato2021", "hcc_rfa_convention"),
            maximum=Decimal(1000),
            integer=True,
        ),
        _p(
            "ablation_burden_below_percent",
            20,
            "%",
            "burden < this (exclusive) fits laparoscopic ablation series (Kose 2020); >=: CAUTION",
            ("kose2020",),
        ),
        # --- TAE / cTACE / DEB-TACE (§2.4-§2.6)
        _p(
            "embolization_bilirubin_max_mg_dl",
            "2.0",
            "mg/dL",
            "bilirubin > this (exclusive): CONTRAINDICATED (RETNET <=2.0)",
            ("retnet_table1",),
            maximum=Decimal(100),
        ),
        _p(
            "embolization_ecog_max",
            2,
            "",
            "ECOG > this: CONTRAINDICATED (RETNET PS 0-2)",
            ("retnet_table1",),
            maximum=Decimal(4),
            integer=True,
        ),
        _p(
            "embolization_albumin_min_g_dl",
            "3.0",
            "g/dL",
            "albumin < this (exclusive): CAUTION (RETNET >=3.0)",
            ("retnet_table1",),
            maximum=Decimal(10),
        ),
        _p(
            "embolization_platelets_min_10e9_l",
            50,
            "x10^9/L",
            "platelets < this: CAUTION (RETNET >=50)",
            ("retnet_table1",),
            maximum=Decimal(2000),
        ),
        _p(
            "embolization_inr_max",
            "1.5",
            "",
            "INR > this: CAUTION (RETNET <=1.5)",
            ("retnet_table1",),
            maximum=Decimal(20),
        ),
        _p(
            "embolization_creatinine_max_mg_dl",
            "2.0",
            "mg/dL",
            "creatinine > this: CAUTION (RETNET <=2.0)",
            ("retnet_table1",),
            maximum=Decimal(30),
        ),
        _p(
            "embolization_burden_caution_percent",
            50,
            "%",
            "burden > this: CAUTION (>50 % liver replacement predicts shorter OS)",
            ("sofocleous2014",),
        ),
        _p(
            "embolization_burden_max_percent",
            70,
            "%",
            "burden > this: CAUTION (outside RETNET inclusion <=70 %)",
            ("retnet_table1",),
        ),
        _p(
            "embolization_four_factor_burden_percent",
            50,
            "%",
            "4-factor rule: liver replacement > this (exclusive) is one factor",
            ("tace_four_factor",),
        ),
        _p(
            "embolization_four_factor_bilirubin_mg_dl",
            2,
            "mg/dL",
            "4-factor rule: bilirubin > this (exclusive) is one factor",
            ("tace_four_factor",),
            disagreement="some operators use bilirubin > 3 mg/dL",
            maximum=Decimal(50),
        ),
        _p(
            "embolization_four_factor_ldh_u_l",
            425,
            "U/L",
            "4-factor rule: LDH > this (exclusive) is one factor",
            ("tace_four_factor",),
            maximum=Decimal(100000),
        ),
        _p(
            "embolization_four_factor_ast_u_l",
            100,
            "U/L",
            "4-factor rule: AST > this (exclusive) is one factor",
            ("tace_four_factor",),
            maximum=Decimal(100000),
        ),
        _p(
            "embolization_indication_burden_percent",
            25,
            "%",
            "burden > this meets the RETNET indication (or symptoms/progression)",
            ("retnet_table1",),
        ),
        _p(
            "embolization_interval_min_days",
            30,
            "days",
            "fewer days than this since the last therapy: CAUTION (RETNET: <1 month since "
            "chemotherapy/PRRT/ablation/surgery; 1 month taken as 30 days [D])",
            ("retnet_table1",),
            maximum=Decimal(3650),
            integer=True,
        ),
        _p(
            "ctace_bilioenteric_level",
            Level.CONTRAINDICATED,
            "",
            "level of cTACE after bilioenteric anastomosis (abscess 6/7 after Whipple)",
            ("scvir_whipple", "vanderwalde2009"),
            disagreement=(
                "cTACE: 'should not be offered except with aggressive prophylaxis' (VanderWalde) vs "
                "CAUTION in the §9 synthesis; TARE risk lower (6.6 %, Agahi 2022)"
            ),
        ),
        _p(
            "debtace_level",
            Level.CONTRAINDICATED,
            "",
            "default level of doxorubicin DEB-TACE in NELM (biliary toxicity)",
            ("bhagat2013", "guiu2009", "retnet_debtace_halt"),
            disagreement=(
                "high biliary toxicity (Bhagat 54 % bilomas, Guiu OR 6.63, RETNET arm halted) vs "
                "acceptable in smaller series (Gaur 2011, Bonne 2017)"
            ),
        ),
        # --- TARE (§2.7); lung and LSF defaults from nelm.y90.safety.SafetyLimits
        _p(
            "tare_bilirubin_max_mg_dl",
            _LIMITS.bilirubin_mg_dl,
            "mg/dL",
            "bilirubin > this (exclusive): tare_bilirubin_level",
            ("van_roekel", "retnet_table1"),
            maximum=Decimal(100),
        ),
        _p(
            "tare_bilirubin_level",
            Level.CONTRAINDICATED,
            "",
            "level of TARE at bilirubin above tare_bilirubin_max_mg_dl (unless a reversible cause is "
            "treated)",
            ("van_roekel", "reboc_list"),
            disagreement="absolute in the REBOC-type list; listed as relative in van Roekel",
        ),
        _p(
            "tare_bilirubin_prognosis_mg_dl",
            _LIMITS.bilirubin_prognosis_mg_dl,
            "mg/dL",
            "bilirubin > this: CONSIDER (independent poor-prognosis factor after Y-90 in NET)",
            ("ludwig_lsf",),
            maximum=Decimal(100),
        ),
        _p(
            "tare_ecog_max",
            2,
            "",
            "ECOG > this: CONTRAINDICATED (TARE indication ECOG <=2)",
            ("van_roekel",),
            maximum=Decimal(4),
            integer=True,
        ),
        _p(
            "tare_burden_max_percent",
            _LIMITS.tumour_burden_warn_percent,
            "%",
            "burden > this: CAUTION (TARE only if synthetic function preserved)",
            ("reboc_list",),
        ),
        _p(
            "tare_platelets_min_10e9_l",
            50,
            "x10^9/L",
            "platelets < this: CAUTION",
            ("van_roekel",),
            maximum=Decimal(2000),
        ),
        _p("tare_inr_max", "1.5", "", "INR > this: CAUTION", ("van_roekel",), maximum=Decimal(20)),
        _p(
            "tare_gfr_min_ml_min",
            35,
            "mL/min",
            "GFR < this: CAUTION",
            ("van_roekel",),
            maximum=Decimal(200),
        ),
        _p(
            "tare_leukocytes_min_10e9_l",
            2,
            "x10^9/L",
            "leukocytes < this: CAUTION",
            ("van_roekel",),
            maximum=Decimal(500),
        ),
        _p(
            "tare_granulocytes_min_10e9_l",
            "1.5",
            "x10^9/L",
            "granulocytes < this: CAUTION",
            ("reboc_list",),
            maximum=Decimal(500),
        ),
        _p(
            "tare_lung_dose_max_gy",
            _LIMITS.lung_dose_per_treatment_gy,
            "Gy",
            "planned lung dose > this (exclusive): CONTRAINDICATED",
            ("van_roekel", "sangro_lsf"),
            maximum=Decimal(1000),
        ),
        _p(
            "tare_lung_dose_cumulative_max_gy",
            _LIMITS.lung_dose_cumulative_gy,
            "Gy",
            "prior + planned lung dose > this (exclusive): CONTRAINDICATED",
            ("van_roekel", "sangro_lsf"),
            maximum=Decimal(1000),
        ),
        _p(
            "tare_lsf_prognosis_percent",
            Decimal(repr(_LIMITS.lsf_prognosis_from)) * 100,
            "%",
            "LSF >= this (inclusive): CAUTION (NET prognosis, Ludwig)",
            ("ludwig_lsf",),
        ),
        _p(
            "tare_lsf_policy_percent",
            Decimal(repr(_LIMITS.glass_lsf_caution_from)) * 100,
            "%",
            "LSF >= this (inclusive): CAUTION (withhold by Sangro's policy, or reduce the activity)",
            ("sangro_lsf",),
            disagreement=(
                "withhold at LSF >=15 % (Sangro) vs reduce resin activity by 20/40/100 % at LSF "
                ">10/15/20 %; the lung dose limit governs either way"
            ),
        ),
        _p(
            "tare_interval_min_days",
            28,
            "days",
            "fewer days than this since the last systemic therapy: CAUTION (<4 weeks)",
            ("van_roekel",),
            maximum=Decimal(3650),
            integer=True,
        ),
        # --- PRRT (§2.8)
        _p(
            "prrt_krenning_positive_min",
            3,
            "",
            "every measured lesion Krenning >= this: SSTR-positive (APPROPRIATE)",
            ("krenning_scale", "netter1"),
            disagreement=(
                "'>2' i.e. >=3 (> liver; Radiopaedia, Zidan) vs >=2 (NETTER-1 admitted Krenning 2; NETPET "
                "counts modified Krenning 2-4 as positive)"
            ),
            maximum=Decimal(4),
            integer=True,
        ),
        _p(
            "prrt_krenning_negative_below",
            2,
            "",
            "every measured lesion Krenning < this: SSTR-negative (CONTRAINDICATED)",
            ("krenning_scale", "clinical_rules_s9"),
            maximum=Decimal(4),
            integer=True,
        ),
        _p(
            "prrt_burden_caution_percent",
            75,
            "%",
            "burden > this: CAUTION (limited data; probably safe)",
            ("jnm2023_burden",),
        ),
    )
}


@dataclass(frozen=True)
class Thresholds:
    """The threshold values in force: the defaults of :data:`PARAMETERS` plus overrides.

    Parameters
    ----------
    overrides:
        Parameter name -> value (validated and converted; see :meth:`Parameter.check`).
    source:
        Where the overrides came from (a file name), for messages and the output.

    Raises
    ------
    ConfigError
        An unknown parameter or a bad value (the message names ``source`` and the key).
    """

    overrides: Mapping[str, object] = field(default_factory=dict)
    source: str = "defaults"

    def __post_init__(self) -> None:
        checked: dict[str, ThresholdValue] = {}
        for key, raw in dict(self.overrides).items():
            parameter = PARAMETERS.get(str(key))
            if parameter is None:
                close = difflib.get_close_matches(str(key), PARAMETERS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"{self.source}: unknown threshold {key!r}{hint}")
            checked[str(key)] = parameter.check(raw, f"{self.source}: {key}")
        object.__setattr__(self, "overrides", checked)
        for low, high in (
            ("ablation_size_caution_mm", "ablation_size_max_mm"),
            ("resection_type2_above_percent", "resection_debulking_percent"),
            ("resection_ecog_caution_above", "resection_ecog_max"),
            ("embolization_burden_caution_percent", "embolization_burden_max_percent"),
            ("tare_bilirubin_prognosis_mg_dl", "tare_bilirubin_max_mg_dl"),
            ("tare_lsf_prognosis_percent", "tare_lsf_policy_percent"),
            ("tare_lung_dose_max_gy", "tare_lung_dose_cumulative_max_gy"),
            ("prrt_krenning_negative_below", "prrt_krenning_positive_min"),
        ):
            a, b = self.number(low), self.number(high)
            if a > b:
                raise ConfigError(f"{self.source}: {low} ({a}) must not exceed {high} ({b})")

    def value(self, name: str) -> ThresholdValue:
        """The value in force (``KeyError`` for an unknown name: a programming error)."""
        if name not in PARAMETERS:
            raise KeyError(f"unknown threshold {name!r}")
        found = self.overrides.get(name)
        return PARAMETERS[name].default if found is None else found  # type: ignore[return-value]

    def number(self, name: str) -> Decimal:
        """A numeric threshold."""
        value = self.value(name)
        if isinstance(value, Level):
            raise TypeError(f"threshold {name!r} is a level, not a number")
        return value

    def level(self, name: str) -> Level:
        """A level-valued threshold."""
        value = self.value(name)
        if not isinstance(value, Level):
            raise TypeError(f"threshold {name!r} is a number, not a level")
        return value

    def text(self, name: str) -> str:
        """The value in force with its unit (``"30 mm"``), marked when overridden."""
        shown = PARAMETERS[name].text(self.value(name))
        return f"{shown} (set in {self.source})" if name in self.overrides else shown


def load_thresholds(path: str | os.PathLike[str]) -> Thresholds:
    """Read threshold overrides from a YAML or JSON file (module docstring for the format).

    Raises
    ------
    ConfigError
        Missing/unreadable/empty file, not a mapping, a bad version key, an unknown threshold or a
        bad value; every message names the file and the key.
    """
    source = os.fspath(path)
    try:
        data = read_document(
            path,
            what="decision thresholds file",
            first_line=f"{_VERSION_KEY}: 1",
            top_keys="threshold names, e.g. resection_debulking_percent",
        )
    except ManifestError as exc:
        raise ConfigError(str(exc)) from None
    version = data.pop(_VERSION_KEY, 1)
    if version != 1 or isinstance(version, bool):
        raise ConfigError(f"{source}: {_VERSION_KEY}: only version 1 exists, got {version!r}")
    return Thresholds(data, source=source)
