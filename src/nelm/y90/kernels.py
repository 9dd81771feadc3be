"""Y-90 dose-voxel kernels (voxel S-values) for the actual image grid, from a point kernel.

nelm computes the voxel S-values of any grid (any voxel size, anisotropic included) by
integrating a radial point kernel over the source and target voxels. It never interpolates
S-values across voxel sizes (the MGH MIRDCalculation shortcut, ``reference/y90-dosimetry.md``
§1.6, §4): S scales roughly with 1/size³ and its shape changes with size.

Method
------
The point kernel ``f(r)`` is the fraction of the emitted energy absorbed per unit distance from
a point source (``∫ f dr = 1``). For a source uniform in voxel 0 and target voxel ``i`` of a
grid with spacing ``h = (hz, hy, hx)``, the absorbed fraction is exactly ::

    φ_i = ∫ f(r) · (1/4π) ∮ W_i(r·ω) dω dr,    W_i(u) = Π_a max(0, 1 − |u_a/h_a − i_a|),

where ``W_i(u)`` is the probability that ``x + u`` lies in voxel ``i`` for ``x`` uniform in
voxel 0 (the trilinear "tent" weight). The (r, ω) integral is done by quasi-Monte Carlo:
2^18 points of a scrambled Sobol sequence (fixed seed, so kernels are reproducible) give the
radius through the energy quantiles of ``f`` (each point carries the same energy) and a
direction uniform on the positive octant (φ is symmetric under each axis reflection); every
point is splatted into the grid with its trilinear weights. Σ_i φ_i = 1 by construction
(the tent weights are a partition of unity), so energy is conserved up to the kernel's
truncation: the half-width along axis a is ⌈R/h_a⌉ voxels, R the radius holding all but
``max_truncated_energy_fraction`` (default 0.1 %) of the energy, so less than that is left
outside (in practice 1e-6 to 1e-4: the box holds more than the sphere); the fraction left out is
:attr:`VoxelKernel.truncated_energy_fraction`. The quadrature error is below 1e-5 relative
on S(0,0,0) and the face neighbours (measured against 2^22 points).

S-values: ``S_i [mGy/(MBq·s)] = φ_i · E_decay[J] · 10⁶ / m[kg] · 10³`` with ``m = ρ·hz·hy·hx``
and ``E_decay`` = :attr:`~nelm.y90.constants.Y90Constants.energy_per_decay_j` (0.9312 MeV, the
energy implied by the dose coefficient 49.67 Gy·kg/GBq and T½ 64.1 h). Local deposition and
kernel convolution therefore distribute the same energy and differ only in where it lands.

Point kernels
-------------
* :data:`LOEVINGER_Y90`: Loevinger's empirical beta point-source function (Loevinger R,
  Radiology 1956;66:55-62; also in ICRU Report 56 and Attix, *Introduction to Radiological
  Physics and Radiation Dosimetry*), with x = ρ·r (g/cm²)::

      Ē* = 0.33·E0·(1 − √Z/50)·(1 + √E0/4)
      ν  = 18.6·(E0 − 0.036)^−1.37·(2 − Ē/Ē*)   cm²/g
      J(x) ∝ (νx)^−2 · {c[1 − (νx/c)·e^(1−νx/c)] + νx·e^(1−νx)}   (νx < c)
      J(x) ∝ (νx)^−2 · νx·e^(1−νx)                                (νx ≥ c)

  with c = 1 for 1.5 ≤ E0 < 3 MeV, hence ``f(r) ∝ r²·J``. Y-90: E0 = 2.2801 MeV (ENSDF), Ē =
  0.9267 MeV (ENSDF/ICRP-107 mean beta energy), Z = 40 (daughter Zr), giving ν = 6.00 cm²/g.
  The function is normalised numerically over ν·ρ·r ≤ 15 (the analytic tail beyond holds
  4·10⁻⁶ of the energy).
* :class:`TabulatedPointKernel`: published numbers typed in with their citation.

Agreement with the Lanconelli 2012 soft-tissue tables (all 13 sizes, 2.21-9.28 mm; tested in
``tests/y90/test_kernels.py``; ratio nelm / Lanconelli with ρ = 1.04 g/mL):

=====================================  ======================  ===========================
quantity                               measured                tolerance (test)
=====================================  ======================  ===========================
S(0,0,0)                               0.911 (2.21 mm) to      within 10 %
                                       0.951 (9.28 mm)
S(1,0,0) face neighbours               0.953 to 1.033          within 6 %
absorbed fraction in the 3×3×3 block   0.043 lower (3 mm) to   within 0.05 (absolute)
                                       0.001 lower (9.28 mm)
mean dose, uniform sphere interior     equal (both = LED)      within 1 %
mean dose, 20 mm diameter sphere       0.963 (4.8 mm voxels)   within 5 %
mean dose, 40 mm diameter sphere       0.980 (4.8 mm voxels)   within 3 %
=====================================  ======================  ===========================

Against MIRD Pamphlet 17 (Bolch et al. 1999, Y-90 soft tissue S(0,0,0) 1.61 at 3 mm and
0.346 mGy/(MBq·s) at 6 mm, reference §2.5) nelm's S(0,0,0) is 0.91 and 0.93 of those (test:
within 10 %). Loevinger's function keeps less energy in the source voxel than the Monte Carlo
kernels and has a longer exponential tail: beyond about 6 mm (S(0,0,3) at 2.21 mm, S(0,0,2) from
3 mm on) nelm's S-values exceed Lanconelli's, by up to ×50 where both are below 10⁻³ of S(0,0,0)
(the far tail is not a useful comparison; the reference notes a factor 2 even between MIRD-17
and Lanconelli there). Kernels are memoised per (spacing, density, point kernel, truncation).
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from nelm.errors import ConfigError, GeometryError, InputError
from nelm.y90.constants import DEFAULT_CONSTANTS, JOULE_PER_MEV, Y90Constants

__all__ = [
    "COMPACT_BONE_DENSITY_G_PER_ML",
    "LOEVINGER_Y90",
    "SOFT_TISSUE_DENSITY_G_PER_ML",
    "LoevingerPointKernel",
    "PointKernel",
    "TabulatedPointKernel",
    "VoxelKernel",
    "lanconelli_kernel_for",
    "load_lanconelli",
    "voxel_kernel",
]

logger = logging.getLogger(__name__)

#: ICRP soft tissue, the medium of Lanconelli et al. 2012's "soft tissue" tables (g/mL).
SOFT_TISSUE_DENSITY_G_PER_ML: Final[float] = 1.04
#: ICRP compact bone of Lanconelli's "bone" tables (g/mL); their tables' energy balance
#: (Σ S·m = 0.933 MeV per decay) holds with this density.
COMPACT_BONE_DENSITY_G_PER_ML: Final[float] = 1.85
#: Quadrature points (scrambled Sobol, fixed seed).
QUADRATURE_POINTS: Final[int] = 2**18
#: Lanconelli's tables are used only for a grid within this distance of their voxel size (mm).
SPACING_TOLERANCE_MM: Final[float] = 1e-3
_RADIAL_NODES: Final[int] = 8001
_LOEVINGER_MAX_NU_X: Final[float] = 15.0
_MAX_OCTANT_VOXELS: Final[int] = 8_000_000
_LANCONELLI_CITATION: Final[str] = (
    "Lanconelli N et al., Phys Med Biol 2012;57:517-533 (free voxel S-value database), "
    "as distributed in MGHPhysicsResearch/MIRDCalculation"
)


class PointKernel(Protocol):
    """A radial point kernel: energy absorbed per unit distance around a point source.

    Implementations must be hashable (frozen dataclasses) so that kernels can be memoised.
    """

    def __hash__(self) -> int: ...

    @property
    def citation(self) -> str:
        """Where the numbers come from."""
        ...

    def radial_profile(
        self, r_mm: npt.NDArray[np.float64], density_g_per_ml: float
    ) -> npt.NDArray[np.float64]:
        """``f(r)`` up to a constant factor (normalised numerically), in a medium of that density."""
        ...

    def max_radius_mm(self, density_g_per_ml: float) -> float:
        """Radius beyond which the kernel is taken as zero (mm)."""
        ...


@dataclass(frozen=True)
class LoevingerPointKernel:
    """Loevinger's empirical beta point-source function (Loevinger 1956; ICRU Report 56).

    Parameters
    ----------
    endpoint_energy_mev:
        Beta end-point energy E0 (MeV); the formula's constant c = 1 holds for 1.5 ≤ E0 < 3 MeV,
        the only band implemented.
    mean_energy_mev:
        Mean beta energy Ē (MeV), below E0.
    daughter_atomic_number:
        Atomic number Z of the daughter nucleus.
    citation:
        Source of the function and of the nuclear data.

    Raises
    ------
    ConfigError
        An end-point outside [1.5, 3) MeV, a mean energy outside (0, E0), Z outside 1-100.
    """

    endpoint_energy_mev: float = 2.2801
    mean_energy_mev: float = 0.9267
    daughter_atomic_number: int = 40
    citation: str = (
        "Loevinger R, Radiology 1956;66:55-62 (beta point-source function; ICRU Report 56); "
        "Y-90 E0 2.2801 MeV, mean beta energy 0.9267 MeV (ENSDF, ICRP-107), daughter Z = 40"
    )

    def __post_init__(self) -> None:
        e0, mean, z = self.endpoint_energy_mev, self.mean_energy_mev, self.daughter_atomic_number
        for name, value in (("endpoint_energy_mev", e0), ("mean_energy_mev", mean)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"Loevinger point kernel: {name} must be a number, got {value!r}")
        if not 1.5 <= e0 < 3.0:
            raise ConfigError(
                f"Loevinger point kernel: endpoint_energy_mev {e0} is outside 1.5-3 MeV, the band where "
                "the formula's constant c = 1 applies (the only one nelm implements)"
            )
        if not 0.0 < mean < e0:
            raise ConfigError(f"Loevinger point kernel: mean_energy_mev {mean} must lie in (0, {e0})")
        if isinstance(z, bool) or not isinstance(z, int) or not 1 <= z <= 100:
            raise ConfigError(f"Loevinger point kernel: daughter_atomic_number must be 1-100, got {z!r}")
        if not self.citation.strip():
            raise ConfigError("Loevinger point kernel: citation must not be empty")

    @property
    def c(self) -> float:
        """Loevinger's constant c (1 for 1.5 ≤ E0 < 3 MeV)."""
        return 1.0

    @property
    def allowed_mean_energy_mev(self) -> float:
        """Ē* = 0.33·E0·(1 − √Z/50)·(1 + √E0/4) (MeV)."""
        e0 = self.endpoint_energy_mev
        return 0.33 * e0 * (1.0 - math.sqrt(self.daughter_atomic_number) / 50.0) * (1.0 + math.sqrt(e0) / 4.0)

    @property
    def nu_cm2_per_g(self) -> float:
        """ν = 18.6·(E0 − 0.036)^−1.37·(2 − Ē/Ē*) (cm²/g)."""
        e0 = self.endpoint_energy_mev
        return (
            18.6 * math.pow(e0 - 0.036, -1.37) * (2.0 - self.mean_energy_mev / self.allowed_mean_energy_mev)
        )

    def radial_profile(
        self, r_mm: npt.NDArray[np.float64], density_g_per_ml: float
    ) -> npt.NDArray[np.float64]:
        """``r²·J(ρr)`` up to a constant, with u = νρr.

        ``c[1 − (u/c)e^(1−u/c)] + u·e^(1−u)`` for u < c, else ``u·e^(1−u)``.
        """
        c = self.c
        u = self.nu_cm2_per_g * density_g_per_ml * np.asarray(r_mm, dtype=np.float64) / 10.0
        near = c * (1.0 - (u / c) * np.exp(1.0 - u / c)) + u * np.exp(1.0 - u)
        return np.asarray(np.where(u < c, near, u * np.exp(1.0 - u)), dtype=np.float64)

    def max_radius_mm(self, density_g_per_ml: float) -> float:
        """``ν·ρ·r = 15``: the tail beyond holds (1 + u)e^(1−u)/3 = 4·10⁻⁶ of the energy."""
        return 10.0 * _LOEVINGER_MAX_NU_X / (self.nu_cm2_per_g * density_g_per_ml)


#: Loevinger's point kernel with Y-90 data (nelm's built-in).
LOEVINGER_Y90: Final[LoevingerPointKernel] = LoevingerPointKernel()


@dataclass(frozen=True)
class TabulatedPointKernel:
    """A published radial point kernel typed in with its citation.

    ``f`` is linear between the nodes, constant (``fraction_per_mm[0]``) from 0 to the first
    node and zero beyond the last. Any quantity proportional to the absorbed energy per unit
    radius works (it is normalised numerically), e.g. dose × r² (:meth:`from_dose`). In another
    medium the radius is scaled by ``density_g_per_ml / ρ`` (O'Connor's scaling theorem).

    Parameters
    ----------
    r_mm:
        Strictly increasing radii, ≥ 0 (mm).
    fraction_per_mm:
        Absorbed energy per unit radius at ``r_mm`` (any constant factor), non-negative.
    citation:
        Where the numbers come from (non-empty).
    density_g_per_ml:
        Density of the medium the kernel was computed in.

    Raises
    ------
    ConfigError
        Fewer than 2 nodes, unequal lengths, radii not increasing or negative, negative or
        non-finite values, all values zero, an empty citation, a non-positive density.
    """

    r_mm: tuple[float, ...]
    fraction_per_mm: tuple[float, ...]
    citation: str
    density_g_per_ml: float = 1.0

    def __post_init__(self) -> None:
        r = np.asarray(self.r_mm, dtype=np.float64).ravel()
        f = np.asarray(self.fraction_per_mm, dtype=np.float64).ravel()
        if r.size < 2 or r.size != f.size:
            raise ConfigError(
                f"tabulated point kernel: needs ≥ 2 radii and as many values, got {r.size} and {f.size}"
            )
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(f))):
            raise ConfigError("tabulated point kernel: radii and values must be finite numbers")
        if r[0] < 0 or np.any(np.diff(r) <= 0):
            raise ConfigError("tabulated point kernel: r_mm must be ≥ 0 and strictly increasing")
        if np.any(f < 0) or not np.any(f > 0):
            raise ConfigError("tabulated point kernel: fraction_per_mm must be ≥ 0 and not all zero")
        if not isinstance(self.citation, str) or not self.citation.strip():
            raise ConfigError("tabulated point kernel: a citation is required for typed-in numbers")
        rho = self.density_g_per_ml
        if isinstance(rho, bool) or not isinstance(rho, int | float) or not (math.isfinite(rho) and rho > 0):
            raise ConfigError(f"tabulated point kernel: density_g_per_ml must be positive, got {rho!r}")
        object.__setattr__(self, "r_mm", tuple(float(v) for v in r))
        object.__setattr__(self, "fraction_per_mm", tuple(float(v) for v in f))
        object.__setattr__(self, "density_g_per_ml", float(rho))

    @classmethod
    def from_dose(
        cls, r_mm: Sequence[float], dose: Sequence[float], *, citation: str, density_g_per_ml: float = 1.0
    ) -> TabulatedPointKernel:
        """A kernel from a dose (any unit) at distance r: ``f ∝ r² · D(r)``."""
        r = np.asarray(r_mm, dtype=np.float64)
        d = np.asarray(dose, dtype=np.float64)
        if r.shape != d.shape:
            raise ConfigError(f"tabulated point kernel: {r.size} radii but {d.size} doses")
        return cls(tuple(r.tolist()), tuple((r * r * d).tolist()), citation, density_g_per_ml)

    def radial_profile(
        self, r_mm: npt.NDArray[np.float64], density_g_per_ml: float
    ) -> npt.NDArray[np.float64]:
        """The tabulated ``f`` at ``r·ρ/ρ_table`` (times ρ/ρ_table)."""
        scale = density_g_per_ml / self.density_g_per_ml
        r = np.asarray(r_mm, dtype=np.float64) * scale
        f = np.interp(r, self.r_mm, self.fraction_per_mm, left=self.fraction_per_mm[0], right=0.0)
        return np.asarray(f * scale, dtype=np.float64)

    def max_radius_mm(self, density_g_per_ml: float) -> float:
        """The last tabulated radius, scaled to the density."""
        return self.r_mm[-1] * self.density_g_per_ml / density_g_per_ml


@dataclass(frozen=True, eq=False)
class VoxelKernel:
    """Voxel S-values of one grid and medium.

    Parameters
    ----------
    s_values_mgy_per_mbq_s:
        Mean absorbed dose in each target voxel per cumulated activity in the central voxel
        (mGy/(MBq·s)); odd shape along each axis, indexed [slice, row, column].
    spacing_mm:
        Voxel size (slice, row, column) in mm.
    density_g_per_ml:
        Density of the medium (the target mass is ``density × voxel volume``).
    source:
        How the values were obtained (citation).
    truncated_energy_fraction:
        Share of the emitted energy deposited outside the kernel's extent, in [0, 1).
    energy_per_decay_j:
        Energy the S-values distribute per decay (J): for nelm's kernels the constants' value,
        for a published table its own Σ S·m.

    Raises
    ------
    InputError
        An even or non-3-D shape, negative or non-finite values, or an invalid spacing,
        density, source or fraction.
    """

    s_values_mgy_per_mbq_s: npt.NDArray[np.float64] = field(repr=False)
    spacing_mm: tuple[float, float, float]
    density_g_per_ml: float
    source: str
    truncated_energy_fraction: float
    energy_per_decay_j: float

    def __post_init__(self) -> None:
        s = np.array(self.s_values_mgy_per_mbq_s, dtype=np.float64)
        if s.ndim != 3 or any(n % 2 == 0 for n in s.shape):
            raise InputError(f"voxel kernel: S-values need an odd 3-D shape, got {s.shape}")
        if not np.all(np.isfinite(s)) or np.any(s < 0) or not np.any(s > 0):
            raise InputError("voxel kernel: S-values must be finite, non-negative and not all zero")
        spacing = tuple(float(v) for v in self.spacing_mm)
        if len(spacing) != 3 or not all(math.isfinite(v) and v > 0 for v in spacing):
            raise InputError(
                f"voxel kernel: spacing_mm must be three positive numbers, got {self.spacing_mm}"
            )
        for name in ("density_g_per_ml", "energy_per_decay_j"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InputError(f"voxel kernel: {name} must be positive, got {value!r}")
        if not 0.0 <= self.truncated_energy_fraction < 1.0:
            raise InputError(
                "voxel kernel: truncated_energy_fraction must be in [0, 1), "
                f"got {self.truncated_energy_fraction}"
            )
        if not self.source.strip():
            raise InputError("voxel kernel: the source (citation) must not be empty")
        s.setflags(write=False)
        object.__setattr__(self, "s_values_mgy_per_mbq_s", s)
        object.__setattr__(self, "spacing_mm", spacing)
        object.__setattr__(self, "density_g_per_ml", float(self.density_g_per_ml))
        object.__setattr__(self, "energy_per_decay_j", float(self.energy_per_decay_j))
        object.__setattr__(self, "truncated_energy_fraction", float(self.truncated_energy_fraction))

    @property
    def shape(self) -> tuple[int, int, int]:
        """Kernel size along (slice, row, column)."""
        n = self.s_values_mgy_per_mbq_s.shape
        return (n[0], n[1], n[2])

    @property
    def mass_kg(self) -> float:
        """Mass of one voxel: ``ρ · hz·hy·hx`` (kg)."""
        hz, hy, hx = self.spacing_mm
        return self.density_g_per_ml * hz * hy * hx * 1e-6

    @property
    def absorbed_fractions(self) -> npt.NDArray[np.float64]:
        """φ_i = S_i · m / E_decay: the share of the energy per decay absorbed in each voxel."""
        joule_per_decay = self.s_values_mgy_per_mbq_s * 1e-9 * self.mass_kg
        return np.asarray(joule_per_decay / self.energy_per_decay_j)

    def require_spacing(
        self,
        spacing_mm: Sequence[float],
        *,
        what: str = "activity grid",
        tolerance_mm: float = SPACING_TOLERANCE_MM,
    ) -> None:
        """Raise :class:`GeometryError` unless ``spacing_mm`` equals the kernel's within ``tolerance_mm``.

        S-values are never interpolated across voxel sizes: use :func:`voxel_kernel` for the grid.
        """
        grid = tuple(float(v) for v in spacing_mm)
        if len(grid) == 3 and all(
            abs(a - b) <= tolerance_mm for a, b in zip(grid, self.spacing_mm, strict=True)
        ):
            return
        mine = " × ".join(f"{v:g}" for v in self.spacing_mm)
        theirs = " × ".join(f"{v:g}" for v in grid)
        raise GeometryError(
            f"voxel kernel for {mine} mm ({self.source}) does not fit the {what} of {theirs} mm "
            f"(tolerance {tolerance_mm} mm); S-values are never interpolated across voxel sizes: "
            "compute a kernel for the grid (nelm.y90.kernels.voxel_kernel) or resample the image"
        )

    def to_dict(self) -> dict[str, Any]:
        """Metadata (not the array), JSON-serialisable."""
        c = tuple(n // 2 for n in self.shape)
        return {
            "shape": list(self.shape),
            "spacing_mm": list(self.spacing_mm),
            "density_g_per_ml": self.density_g_per_ml,
            "source": self.source,
            "truncated_energy_fraction": self.truncated_energy_fraction,
            "energy_per_decay_mev": self.energy_per_decay_j / JOULE_PER_MEV,
            "s_000_mgy_per_mbq_s": float(self.s_values_mgy_per_mbq_s[c]),
        }


# -- nelm's kernel ------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _quadrature() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sobol points: the radial quantile coordinate and unit directions on the positive octant."""
    from scipy.stats import qmc  # imported here: scipy.stats is slow to import

    p = qmc.Sobol(d=3, scramble=True, seed=20120517).random(QUADRATURE_POINTS)
    mu = p[:, 1]
    azimuth = p[:, 2] * (math.pi / 2.0)
    s = np.sqrt(1.0 - mu * mu)
    directions = np.stack([mu, s * np.cos(azimuth), s * np.sin(azimuth)], axis=1)
    return p[:, 0].copy(), directions


def _radial_cdf(
    point_kernel: PointKernel, density_g_per_ml: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Radii and the normalised cumulative energy fraction within them (trapezoid rule)."""
    r_max = point_kernel.max_radius_mm(density_g_per_ml)
    if not (math.isfinite(r_max) and r_max > 0):
        raise ConfigError(
            f"point kernel {point_kernel.citation!r}: maximum radius {r_max} mm is not positive"
        )
    r = np.linspace(0.0, r_max, _RADIAL_NODES)
    f = point_kernel.radial_profile(r, density_g_per_ml)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(r))])
    if not (np.all(np.isfinite(cdf)) and cdf[-1] > 0):
        raise ConfigError(f"point kernel {point_kernel.citation!r} holds no energy")
    return r, cdf / cdf[-1]


@functools.lru_cache(maxsize=64)
def _absorbed_fractions(
    spacing_mm: tuple[float, float, float],
    density_g_per_ml: float,
    point_kernel: PointKernel,
    max_truncated_energy_fraction: float,
) -> tuple[npt.NDArray[np.float64], float]:
    r, cdf = _radial_cdf(point_kernel, density_g_per_ml)
    quantile, directions = _quadrature()
    radius = np.interp(quantile, cdf, r)
    h = np.asarray(spacing_mm, dtype=np.float64)
    u = directions * (radius[:, None] / h[None, :])
    base = np.floor(u).astype(np.intp)
    frac = u - base
    size = (np.floor(r[-1] / h).astype(np.intp) + 2).tolist()
    if size[0] * size[1] * size[2] > _MAX_OCTANT_VOXELS:
        raise ConfigError(
            f"voxel kernel: a point kernel reaching {r[-1]:.1f} mm spans too many {spacing_mm} mm voxels; "
            "use a coarser grid"
        )
    index = (base[:, 0] * size[1] + base[:, 1]) * size[2] + base[:, 2]
    weights = (1.0 - frac, frac)
    octant = np.zeros(size[0] * size[1] * size[2], dtype=np.float64)
    for dz in (0, 1):
        wz = weights[dz][:, 0]
        for dy in (0, 1):
            wzy = wz * weights[dy][:, 1]
            for dx in (0, 1):
                shift = (dz * size[1] + dy) * size[2] + dx
                octant += np.bincount(index + shift, weights=wzy * weights[dx][:, 2], minlength=octant.size)
    block = octant.reshape(size) / quantile.size
    # folded directions: indices ≥ 1 along an axis collect both signs, index 0 only one
    block[1:, :, :] *= 0.5
    block[:, 1:, :] *= 0.5
    block[:, :, 1:] *= 0.5
    keep_radius = float(np.interp(1.0 - max_truncated_energy_fraction, cdf, r))
    half = [
        max(1, min(n - 1, math.ceil(keep_radius / float(s) - 1e-9))) for n, s in zip(size, h, strict=True)
    ]
    axes = [np.abs(np.arange(-n, n + 1)) for n in half]
    phi = block[np.ix_(*axes)]
    truncated = max(0.0, 1.0 - float(phi.sum()))
    phi.setflags(write=False)
    return phi, truncated


def voxel_kernel(
    spacing_mm: Sequence[float],
    *,
    point_kernel: PointKernel = LOEVINGER_Y90,
    density_g_per_ml: float = SOFT_TISSUE_DENSITY_G_PER_ML,
    max_truncated_energy_fraction: float = 1e-3,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> VoxelKernel:
    """Voxel S-values of a grid, integrated from a point kernel (see the module docstring).

    Parameters
    ----------
    spacing_mm:
        Voxel size along (slice, row, column), any positive values (anisotropic allowed).
    point_kernel:
        The radial point kernel (default Loevinger's function for Y-90).
    density_g_per_ml:
        Density of the medium (default 1.04, ICRP soft tissue as in Lanconelli 2012).
    max_truncated_energy_fraction:
        Largest share of the energy the kernel's extent may leave out (default 0.1 %).
    constants:
        Supplies the energy per decay.

    Raises
    ------
    ConfigError
        A spacing outside 0.5-100 mm (finer than any Y-90 image), a density outside 0.001-25 g/mL,
        a truncation outside (0, 0.1], or a point kernel reaching over too many voxels.

    Notes
    -----
    Memoised: the spacing is rounded to 1e-6 mm for the cache key; the same grid costs the
    integration (about 0.05 s) once per process.
    """
    spacing = tuple(float(v) for v in spacing_mm)
    if len(spacing) != 3 or not all(math.isfinite(v) and 0.5 <= v <= 100.0 for v in spacing):
        raise ConfigError(f"voxel kernel: spacing_mm must be three sizes of 0.5-100 mm, got {spacing_mm!r}")
    rho = density_g_per_ml
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not (0.001 <= rho <= 25.0):
        raise ConfigError(f"voxel kernel: density_g_per_ml must be 0.001-25 g/mL, got {rho!r}")
    trunc = max_truncated_energy_fraction
    if not (isinstance(trunc, int | float) and 0.0 < trunc <= 0.1):
        raise ConfigError(f"voxel kernel: max_truncated_energy_fraction must be in (0, 0.1], got {trunc!r}")
    key = (round(spacing[0], 6), round(spacing[1], 6), round(spacing[2], 6))
    phi, truncated = _absorbed_fractions(key, float(rho), point_kernel, float(trunc))
    mass_kg = float(rho) * key[0] * key[1] * key[2] * 1e-6
    energy = constants.energy_per_decay_j
    s_values = phi * (energy * 1e6 / mass_kg * 1e3)
    source = (
        f"nelm voxel S-values for {key[0]:g} × {key[1]:g} × {key[2]:g} mm, {float(rho):g} g/mL, "
        f"{energy / JOULE_PER_MEV:.4f} MeV per decay, integrated from {point_kernel.citation}"
    )
    logger.debug("voxel kernel %s: shape %s, truncated %.2e", key, phi.shape, truncated)
    return VoxelKernel(s_values, key, float(rho), source, truncated, energy)


# -- Lanconelli 2012 tables ------------------------------------------------------------------
_TITLE = re.compile(
    r"^\s*(?P<nuclide>[A-Za-z]+\d+|\d+[A-Za-z]+)\s*-\s*(?P<size>\d+(?:\.\d+)?)\s*mm\s*-\s*(?P<medium>.+?)\s*$"
)


def load_lanconelli(path: str | Path, *, density_g_per_ml: float | None = None) -> VoxelKernel:
    """Read one Y-90 table of the Lanconelli 2012 voxel S-value database.

    Format (as distributed): latin-1 text with CRLF lines; line 1 the title
    (``"Y90 - 4.8mm - Soft tissue"``), line 2 a header, then 216 tab-separated rows
    ``i j k S`` for one octant (i, j, k = 0..5, S in mGy/(MBq·s)), mirrored here to 11×11×11.
    The medium sets the density (soft tissue 1.04, compact bone 1.85 g/mL) unless given.

    Raises
    ------
    InputError
        Unreadable file, a title without nuclide, voxel size or medium, a nuclide other than
        Y-90, an unknown medium without ``density_g_per_ml``, malformed, missing or duplicate rows.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="latin-1").splitlines()
    except OSError as exc:
        raise InputError(f"Lanconelli table {p}: cannot read it ({exc.strerror or exc})") from exc
    title = lines[0].replace("\t", " ").strip() if lines else ""
    m = _TITLE.match(title)
    if m is None:
        raise InputError(f"Lanconelli table {p}: line 1 {title!r} is not like 'Y90 - 4.8mm - Soft tissue'")
    nuclide = m["nuclide"].upper().replace("-", "")
    if nuclide not in {"Y90", "90Y"}:
        raise InputError(f"Lanconelli table {p}: it is for {m['nuclide']}, not Y-90")
    medium = m["medium"].lower()
    if density_g_per_ml is None:
        if "soft" in medium:
            density_g_per_ml = SOFT_TISSUE_DENSITY_G_PER_ML
        elif "bone" in medium:
            density_g_per_ml = COMPACT_BONE_DENSITY_G_PER_ML
        else:
            raise InputError(f"Lanconelli table {p}: unknown medium {m['medium']!r}; give density_g_per_ml")
    octant = np.full((6, 6, 6), np.nan)
    for number, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            i, j, k = (int(v) for v in fields[:3])
            value = float(fields[3])
        except (ValueError, IndexError) as exc:
            raise InputError(
                f"Lanconelli table {p}, line {number}: expected 'i j k S', got {line!r}"
            ) from exc
        if not (min(i, j, k) >= 0 and max(i, j, k) <= 5) or not math.isfinite(value) or value < 0:
            raise InputError(f"Lanconelli table {p}, line {number}: index or S-value out of range: {line!r}")
        if not np.isnan(octant[i, j, k]):
            raise InputError(f"Lanconelli table {p}, line {number}: voxel ({i}, {j}, {k}) appears twice")
        octant[i, j, k] = value
    missing = int(np.isnan(octant).sum())
    if missing:
        raise InputError(f"Lanconelli table {p}: {missing} of the 216 octant voxels are missing")
    idx = np.abs(np.arange(-5, 6))
    s = octant[np.ix_(idx, idx, idx)]
    size = float(m["size"])
    mass_kg = density_g_per_ml * size**3 * 1e-6
    energy = float(s.sum()) * 1e-9 * mass_kg
    return VoxelKernel(
        s,
        (size, size, size),
        float(density_g_per_ml),
        f"{_LANCONELLI_CITATION}: {title}",
        0.0,
        energy,
    )


def lanconelli_kernel_for(
    directory: str | Path,
    spacing_mm: Sequence[float],
    *,
    medium: str = "soft",
    tolerance_mm: float = SPACING_TOLERANCE_MM,
) -> VoxelKernel:
    """The Lanconelli table of ``directory`` whose cubic voxel equals ``spacing_mm``.

    Files are named ``90Y{size}mm{medium}.txt`` (the database's naming).

    Raises
    ------
    GeometryError
        No table for this voxel size (the tabulated sizes are listed); never interpolated.
    InputError
        The directory holds no table for the medium.
    """
    folder = Path(directory)
    sizes: dict[float, Path] = {}
    for f in folder.glob(f"90Y*mm{medium}.txt"):
        match = re.fullmatch(rf"90Y(\d+(?:\.\d+)?)mm{re.escape(medium)}\.txt", f.name)
        if match:
            sizes[float(match[1])] = f
    if not sizes:
        raise InputError(f"no Lanconelli Y-90 {medium} tables (90Y*mm{medium}.txt) in {folder}")
    grid = [float(v) for v in spacing_mm]
    for size, f in sorted(sizes.items()):
        if len(grid) == 3 and all(abs(g - size) <= tolerance_mm for g in grid):
            return load_lanconelli(f)
    listed = ", ".join(f"{s:g}" for s in sorted(sizes))
    raise GeometryError(
        f"no Lanconelli table for {' × '.join(f'{g:g}' for g in grid)} mm voxels (tabulated cubic sizes: "
        f"{listed} mm); S-values are never interpolated across sizes: use nelm.y90.kernels.voxel_kernel"
    )
