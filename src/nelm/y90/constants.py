"""Physical and clinical constants of Y-90 radioembolisation, each named, sourced and settable.

Sources disagree on several of them by 0.1-3 % (``reference/y90-dosimetry.md`` §2.1). nelm's
defaults follow the EANM/literature style; every alternative in use is one keyword away, so that
both the manufacturers' worked examples and the literature's reproduce exactly:

==============================  ============  =====================================================
constant                        default       alternatives and sources
==============================  ============  =====================================================
``half_life_h``                 64.1 h        TheraSphere package insert v12; ICRP-107
                                              (``radioactivedecay``). 64.2 h: Taranis, MGH
                                              MIRDCalculation (:data:`HALF_LIFE_H_ALTERNATIVE`).
``dose_coefficient_gy_kg_per_   49.67         Gulec, Mesoloras & Stabin, J Nucl Med
gbq``                                         2006;47:1209 ("MIRD equations"). 50: TheraSphere
                                              IFU and Sirtex ("1 GBq/kg gives 50 Gy",
                                              :data:`DOSE_COEFFICIENT_MANUFACTURER`).
``liver_density_g_per_ml``      1.03 g/mL     TheraSphere IFU; Radulator; DAVYR. 1.04 (ICRP soft
                                              tissue), 1.05 (Oslo) in use elsewhere.
``lung_mass_kg``                1.0 kg        TheraSphere IFU default; EANM SOP (Chiesa et al.,
                                              EJNMMI Phys 2021) recommends the CT lung mass.
``lung_density_g_per_ml``       0.3 g/mL      lung mass from the CT lung volume (DAVYR).
==============================  ============  =====================================================

1 GBq = 27.027 mCi (:data:`nelm.units.GBQ_PER_MCI`), and 1 GBq/kg is 1 MBq/g.

The dose coefficient is the absorbed energy per unit administered activity with complete
decay and local deposition: ``K = Ē · τ`` with the mean life ``τ = T½ / ln 2``. With 64.1 h and
49.67 Gy·kg/GBq this implies ``Ē = 0.9312 MeV`` per decay, between ICRP-107's 0.9267 MeV and the
TheraSphere insert's 0.9367 MeV; :meth:`Y90Constants.energy_per_decay_j` returns it, so that
local deposition and kernel convolution are the same physics and differ only in where the
energy lands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Final

from nelm.errors import ConfigError

__all__ = [
    "DEFAULT_CONSTANTS",
    "DOSE_COEFFICIENT_LITERATURE",
    "DOSE_COEFFICIENT_MANUFACTURER",
    "HALF_LIFE_H_ALTERNATIVE",
    "HALF_LIFE_H_DEFAULT",
    "JOULE_PER_MEV",
    "Y90Constants",
]

#: Y-90 half-life (h): TheraSphere package insert v12 and ICRP-107.
HALF_LIFE_H_DEFAULT: Final[float] = 64.1
#: The alternative half-life (h) of Taranis and MGH MIRDCalculation.
HALF_LIFE_H_ALTERNATIVE: Final[float] = 64.2
#: Gy·kg/GBq, Gulec et al. J Nucl Med 2006;47:1209.
DOSE_COEFFICIENT_LITERATURE: Final[float] = 49.67
#: Gy·kg/GBq, TheraSphere IFU and Sirtex: "1 GBq (27 mCi) of Y-90 per kg gives 50 Gy".
DOSE_COEFFICIENT_MANUFACTURER: Final[float] = 50.0
#: 1 MeV in joules (CODATA 2018, exact since the 2019 SI redefinition).
JOULE_PER_MEV: Final[float] = 1.602176634e-13


@dataclass(frozen=True)
class Y90Constants:
    """The constants one Y-90 calculation uses; every result records the set it used.

    Parameters
    ----------
    half_life_h:
        Physical half-life of Y-90 (h), 60-70.
    dose_coefficient_gy_kg_per_gbq:
        Absorbed dose per administered activity per mass with complete decay and local
        deposition (Gy·kg/GBq, identical to J/GBq), 45-55.
    liver_density_g_per_ml:
        Density of liver and tumour used to turn volumes into masses (g/mL), 0.9-1.2.
    lung_mass_kg:
        Lung mass when no CT lung volume is given (kg), 0.3-3.
    lung_density_g_per_ml:
        Density turning a CT lung volume into a mass (g/mL), 0.1-1.1.

    Raises
    ------
    ConfigError
        A value outside its plausible range (a typo such as 641 h or 0.4967).
    """

    half_life_h: float = HALF_LIFE_H_DEFAULT
    dose_coefficient_gy_kg_per_gbq: float = DOSE_COEFFICIENT_LITERATURE
    liver_density_g_per_ml: float = 1.03
    lung_mass_kg: float = 1.0
    lung_density_g_per_ml: float = 0.3

    def __post_init__(self) -> None:
        for name, low, high in (
            ("half_life_h", 60.0, 70.0),
            ("dose_coefficient_gy_kg_per_gbq", 45.0, 55.0),
            ("liver_density_g_per_ml", 0.9, 1.2),
            ("lung_mass_kg", 0.3, 3.0),
            ("lung_density_g_per_ml", 0.1, 1.1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"Y-90 constants: {name} must be a number, got {value!r}")
            if not low <= value <= high:
                raise ConfigError(
                    f"Y-90 constants: {name} = {value} is outside the plausible range {low}-{high}"
                )
            object.__setattr__(self, name, float(value))

    @property
    def half_life_s(self) -> float:
        """Half-life in seconds."""
        return self.half_life_h * 3600.0

    @property
    def decay_constant_per_s(self) -> float:
        """λ = ln 2 / T½ (1/s)."""
        return math.log(2.0) / self.half_life_s

    @property
    def mean_life_s(self) -> float:
        """τ = T½ / ln 2 (s): cumulated activity of 1 Bq trapped for ever is τ Bq·s."""
        return self.half_life_s / math.log(2.0)

    @property
    def energy_per_decay_j(self) -> float:
        """Absorbed energy per decay implied by the dose coefficient: ``K / (τ · 10⁹ Bq/GBq)`` (J)."""
        return self.dose_coefficient_gy_kg_per_gbq / (self.mean_life_s * 1e9)

    @property
    def energy_per_decay_mev(self) -> float:
        """:attr:`energy_per_decay_j` in MeV."""
        return self.energy_per_decay_j / JOULE_PER_MEV

    def with_(self, **changes: Any) -> Y90Constants:
        """A copy with some constants changed (validated again)."""
        unknown = sorted(set(changes) - set(self.as_dict()))
        if unknown:
            raise ConfigError(
                f"Y-90 constants: unknown setting(s) {', '.join(unknown)}; known: {', '.join(self.as_dict())}"
            )
        return replace(self, **changes)

    def as_dict(self) -> dict[str, float]:
        """The constants by name, for results and reports."""
        return {
            "half_life_h": self.half_life_h,
            "dose_coefficient_gy_kg_per_gbq": self.dose_coefficient_gy_kg_per_gbq,
            "liver_density_g_per_ml": self.liver_density_g_per_ml,
            "lung_mass_kg": self.lung_mass_kg,
            "lung_density_g_per_ml": self.lung_density_g_per_ml,
        }


#: nelm's defaults (EANM/literature style).
DEFAULT_CONSTANTS: Final[Y90Constants] = Y90Constants()
