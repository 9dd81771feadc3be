"""Image synthesis: tissue values per modality, grids, blur and noise.

Every study is painted from the same analytic patient (:mod:`nelm.phantom.scene`) on its own
grid, blurred with a Gaussian point-spread function and given seeded noise. The *noise-free,
unblurred* painted arrays are the truth images the tests compare against.

Tissue values
-------------
The numbers are typical values chosen to look and behave like clinical images; they are not
patient data.

* **CT (HU)**, unenhanced / late arterial / portal venous: liver 55 / 75 / 110, spleen
  45 / 120 / 120, kidney 35 / 180 / 160, aorta 45 / 300 / 160, portal vein 45 / 110 / 180,
  IVC 45 / 90 / 150, other soft tissue (muscle, bowel and mesentery averaged) 15 / 30 / 40,
  fat -100, lung -850, vertebra 350, air -1000, necrosis 20. Magnitudes follow the
  contrast-enhancement curves reviewed by Bae, Radiology 2010;256:32-61 (aortic peak
  250–350 HU in the late arterial phase; hepatic parenchymal enhancement ≈ 50 HU in the portal
  venous phase). NELM viable tumour: liver value
  plus a per-lesion difference (hypervascular: +30..+80 HU arterial, -5..-25 HU portal washout;
  hypoattenuating before contrast).
* **MRI hepatobiliary phase** (arbitrary units, gadoxetate 20 min): liver 800, lesions
  0.3–0.5 × liver (hypointense), vessels 150, spleen 350, kidney 450, fat 150 (fat-suppressed),
  soft tissue 250, necrosis 100, lung 20, air 0. Rician noise (magnitude of complex Gaussian).
* **68Ga-DOTATATE SUV**: spleen 22, kidney 14, liver 7, blood 1.5, vertebral marrow 1.0, soft
  tissue 0.6, lung 0.4, fat 0.3; the ranking spleen > kidney > liver and their magnitudes are
  those reported for physiological uptake by Kuyumcu et al., Ann Nucl Med 2013;27:538-545.
  Viable tumour: per-lesion ratio × liver; necrosis 0.6.

Physical constants
------------------
* Half-lives: Ga-68 67.71 min = 4062.6 s (ENSDF and ICRP 107, the value ``radioactivedecay``
  gives; Kuzmenko, Appl Radiat Isot 2019;152:188 evaluates 67.83 min — a 0.2 % spread, 0.1 % in a
  1 h decay factor); Tc-99m 6.0067 h (NNDC/ENSDF); Y-90 64.1 h = 2.6708 d
  (TheraSphere package insert; ICRP 107).
* Y-90 positron (internal pair production) branching 3.2e-5 (Selwyn et al., Appl Radiat Isot
  2007;65:318: 31.86e-6).
* Linear attenuation at 140 keV: water μ/ρ = 0.1537 cm²/g (log-log interpolation of the NIST
  XCOM values 0.1707 at 100 keV and 0.1505 at 150 keV; Hubbell & Seltzer, NISTIR 5632), so soft
  tissue μ = 0.15 /cm; lung (density 0.26 g/cm³, ICRU Report 44) 0.04 /cm; fat 0.14 /cm;
  vertebra 0.22 /cm; air 0.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from nelm.imaging.geometry import Geometry
from nelm.phantom.config import AcquisitionConfig
from nelm.phantom.scene import ORGANS, AnatomyScene, LesionScene, Value, paint

__all__ = [
    "CT_PHASES",
    "GA68_HALF_LIFE_S",
    "GA68_POSITRON_FRACTION",
    "MU_140KEV_PER_CM",
    "NECROSIS_HU",
    "TC99M_HALF_LIFE_S",
    "Y90_HALF_LIFE_S",
    "Y90_POSITRON_FRACTION",
    "PerfusionTruth",
    "PlanarProjection",
    "attenuation_map",
    "blur",
    "ct_values",
    "decay_factor",
    "lesion_ct_values",
    "mr_values",
    "noise_seed",
    "paint_mr",
    "paint_suv",
    "perfusion_truth",
    "planar_projection",
    "poisson_noise",
    "rician_noise",
    "sstr_suv_values",
    "study_grids",
]

GA68_HALF_LIFE_S: Final[float] = 67.71 * 60.0
GA68_POSITRON_FRACTION: Final[float] = 0.889
TC99M_HALF_LIFE_S: Final[float] = 6.0067 * 3600.0
Y90_HALF_LIFE_S: Final[float] = 64.1 * 3600.0
Y90_POSITRON_FRACTION: Final[float] = 3.2e-5

#: FWHM = 2·sqrt(2·ln 2)·σ for a Gaussian.
FWHM_PER_SIGMA: Final[float] = 2.0 * math.sqrt(2.0 * math.log(2.0))

_HU: Final[dict[str, tuple[float, float, float]]] = {
    "air": (-1000.0, -1000.0, -1000.0),
    "fat": (-100.0, -100.0, -95.0),
    "soft": (15.0, 30.0, 40.0),
    "spine": (350.0, 355.0, 360.0),
    "lung_right": (-850.0, -848.0, -845.0),
    "lung_left": (-850.0, -848.0, -845.0),
    "liver": (55.0, 75.0, 110.0),
    "spleen": (45.0, 120.0, 120.0),
    "kidney_right": (35.0, 180.0, 160.0),
    "kidney_left": (35.0, 180.0, 160.0),
    "aorta": (45.0, 300.0, 160.0),
    "ivc": (45.0, 90.0, 150.0),
    "portal_vein": (45.0, 110.0, 180.0),
}
#: CT phases in the order of the tuples above.
CT_PHASES: Final[tuple[str, ...]] = ("unenhanced", "arterial", "portal")
#: Attenuation of necrotic tumour (HU), all phases.
NECROSIS_HU: Final[float] = 20.0

_MR: Final[dict[str, float]] = {
    "air": 0.0,
    "fat": 150.0,
    "soft": 250.0,
    "spine": 300.0,
    "lung_right": 20.0,
    "lung_left": 20.0,
    "liver": 800.0,
    "spleen": 350.0,
    "kidney_right": 450.0,
    "kidney_left": 450.0,
    "aorta": 150.0,
    "ivc": 150.0,
    "portal_vein": 150.0,
}
NECROSIS_MR: Final[float] = 100.0

_SUV: Final[dict[str, float]] = {
    "air": 0.0,
    "fat": 0.3,
    "soft": 0.6,
    "spine": 1.0,
    "lung_right": 0.4,
    "lung_left": 0.4,
    "liver": 7.0,
    "spleen": 22.0,
    "kidney_right": 14.0,
    "kidney_left": 14.0,
    "aorta": 1.5,
    "ivc": 1.5,
    "portal_vein": 1.5,
}
NECROSIS_SUV: Final[float] = 0.6

#: Linear attenuation coefficients at 140 keV (1/cm); see the module docstring.
MU_140KEV_PER_CM: Final[dict[str, float]] = {
    "air": 0.0,
    "fat": 0.14,
    "soft": 0.15,
    "spine": 0.22,
    "lung_right": 0.04,
    "lung_left": 0.04,
    "liver": 0.15,
    "spleen": 0.15,
    "kidney_right": 0.15,
    "kidney_left": 0.15,
    "aorta": 0.15,
    "ivc": 0.15,
    "portal_vein": 0.15,
}


def ct_values(phase: str) -> dict[str, float]:
    """HU of every tissue in a CT phase (``unenhanced``, ``arterial`` or ``portal``)."""
    i = CT_PHASES.index(phase)
    return {tissue: values[i] for tissue, values in _HU.items()}


def mr_values() -> dict[str, float]:
    """Hepatobiliary-phase MR signal of every tissue (arbitrary units)."""
    return dict(_MR)


def sstr_suv_values() -> dict[str, float]:
    """68Ga-DOTATATE SUV of every tissue."""
    return dict(_SUV)


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    """Fraction of activity left after ``elapsed_s``: ``2^(-t/T½)``."""
    return float(2.0 ** (-elapsed_s / half_life_s))


def _axial_grid(
    lo: tuple[float, float, float], hi: tuple[float, float, float], spacing: tuple[float, float, float]
) -> Geometry:
    """Axial grid covering ``lo..hi`` (x, y, z mm): slices feet→head, rows A→P, columns R→L."""
    s_slice, s_row, s_col = spacing
    n_col = math.floor((hi[0] - lo[0]) / s_col + 1e-9) + 1
    n_row = math.floor((hi[1] - lo[1]) / s_row + 1e-9) + 1
    n_slice = math.floor((hi[2] - lo[2]) / s_slice + 1e-9) + 1
    # Centre the grid on the requested box so the FOV is symmetric about the midline.
    ox = 0.5 * (lo[0] + hi[0]) - 0.5 * (n_col - 1) * s_col
    oy = 0.5 * (lo[1] + hi[1]) - 0.5 * (n_row - 1) * s_row
    oz = lo[2]
    return Geometry.from_spacing((n_slice, n_row, n_col), spacing, origin_mm=(ox, oy, oz))


def study_grids(scale: float, acq: AcquisitionConfig) -> dict[str, Geometry]:
    """The grid of each kind of study.

    ``ct`` (diagnostic CT: liver, spleen and kidneys with the lung bases), ``mr`` (liver),
    ``pet`` (SSTR and Y-90 PET: kidneys to lung apices), ``spect`` and ``lowdose_ct`` (MAA
    SPECT/CT, same field of view, lungs entirely inside so that the lung shunt is complete).
    """
    s = scale
    body = (-165.0 * s, -117.0 * s)
    ct = _axial_grid((body[0], body[1], -125.0 * s), (-body[0], -body[1], 105.0 * s), acq.ct_spacing_mm)
    mr = _axial_grid((body[0], body[1], -100.0 * s), (-body[0], -body[1], 90.0 * s), acq.mr_spacing_mm)
    wide = ((-170.0 * s, -120.0 * s, -150.0 * s), (170.0 * s, 120.0 * s, 300.0 * s))
    p = acq.pet_spacing_mm
    q = acq.spect_spacing_mm
    return {
        "ct": ct,
        "mr": mr,
        "pet": _axial_grid(wide[0], wide[1], (p, p, p)),
        "spect": _axial_grid(wide[0], wide[1], (q, q, q)),
        "lowdose_ct": _axial_grid(wide[0], wide[1], acq.lowdose_ct_spacing_mm),
    }


def blur(
    array: npt.NDArray[np.floating], geometry: Geometry, fwhm_mm: float | Sequence[float], *, conserve: bool
) -> npt.NDArray[np.float32]:
    """Gaussian point-spread blur with the given FWHM (mm, scalar or per axis).

    ``conserve=True`` pads with zeros (activity images: nothing is invented at the border, and
    the total is kept as long as the activity lies well inside the field of view);
    ``conserve=False`` repeats the edge values (CT/MR: no dark rim).
    """
    fwhm = np.broadcast_to(np.asarray(fwhm_mm, dtype=float), (3,))
    sigma = fwhm / FWHM_PER_SIGMA / np.asarray(geometry.spacing_mm)
    if not np.any(sigma > 0):
        return np.asarray(array, dtype=np.float32)
    out = ndimage.gaussian_filter(
        np.asarray(array, dtype=np.float32),
        sigma=tuple(float(v) for v in sigma),
        mode="constant" if conserve else "nearest",
        cval=0.0,
        truncate=4.0,
    )
    return np.asarray(out, dtype=np.float32)


def poisson_noise(
    expected: npt.NDArray[np.floating], counts_per_unit: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Poisson noise on an image: ``Poisson(expected · k) / k``; unbiased and non-negative.

    ``k = counts_per_unit`` sets the noise level: the coefficient of variation at value ``v``
    is ``1 / sqrt(k·v)``.
    """
    lam = np.clip(np.asarray(expected, dtype=np.float64), 0.0, None) * counts_per_unit
    return np.asarray(rng.poisson(lam) / counts_per_unit, dtype=np.float32)


def lesion_ct_values(lesions: Sequence[LesionScene], phase: str) -> dict[int, tuple[float, float]]:
    """Per-lesion (viable, necrotic) HU in a CT phase."""
    liver = ct_values(phase)["liver"]
    out = {}
    for les in lesions:
        lesion = les.state.lesion
        delta = {
            "unenhanced": lesion.unenhanced_delta_hu,
            "arterial": lesion.arterial_delta_hu,
            "portal": lesion.portal_delta_hu,
        }[phase]
        out[lesion.number] = (liver + delta, NECROSIS_HU)
    return out


@dataclass(frozen=True, eq=False)
class PerfusionTruth:
    """Noise-free microsphere (or MAA) distribution on one grid.

    Activities are per voxel, in the unit of ``total``. Concentrations are solved on this grid
    so that, for the discretised truth, lung activity / (lung + liver activity) equals the
    prescribed LSF and a voxel of viable perfused tumour holds ``tn_ratio`` times a voxel of
    normal perfused liver, both exactly.
    """

    activity: npt.NDArray[np.float32]
    lung_activity: npt.NDArray[np.float32]
    normal_liver_per_voxel: float
    tumour_per_voxel: float
    lung_per_voxel: float
    liver_total: float
    lung_total: float


def perfusion_truth(
    scene: AnatomyScene,
    lesions: Sequence[LesionScene],
    territory: frozenset[int],
    *,
    tn_ratio: float,
    lung_shunt_fraction: float,
    total: float,
) -> PerfusionTruth:
    """Distribute ``total`` between perfused liver, perfused tumour and lungs.

    Normal liver receives activity where its voxel centre lies in ``territory``; a lesion is
    perfused when its centroid does (then its viable tissue gets ``tn_ratio`` × the normal
    concentration, its necrotic core none). Voxels are weighted by their partial-volume
    fractions.
    """
    zero: dict[str, Value] = {name: 0.0 for name in ("air", "fat", "soft", *ORGANS)}
    weight = scene.territory_weight(territory)
    unit_values = dict(zero, liver=weight)
    unit_lesions = {
        les.state.lesion.number: ((tn_ratio if les.state.perfused else 0.0), 0.0) for les in lesions
    }
    liver_unit = paint(scene, lesions, unit_values, unit_lesions)
    lung_unit = paint(scene, (), dict(zero, lung_right=1.0, lung_left=1.0), {})
    s_liver = float(liver_unit.sum(dtype=np.float64))
    s_lung = float(lung_unit.sum(dtype=np.float64))
    c_n = (1.0 - lung_shunt_fraction) * total / s_liver
    c_l = lung_shunt_fraction * total / s_lung
    lung = (lung_unit * np.float32(c_l)).astype(np.float32)
    activity = (liver_unit * np.float32(c_n) + lung).astype(np.float32)
    return PerfusionTruth(
        activity=activity,
        lung_activity=lung,
        normal_liver_per_voxel=c_n,
        tumour_per_voxel=c_n * tn_ratio,
        lung_per_voxel=c_l,
        liver_total=(1.0 - lung_shunt_fraction) * total,
        lung_total=lung_shunt_fraction * total,
    )


def attenuation_map(scene: AnatomyScene, lesions: Sequence[LesionScene]) -> npt.NDArray[np.float32]:
    """Linear attenuation coefficient at 140 keV (1/cm) on the scene's grid."""
    lesion_mu = {
        les.state.lesion.number: (MU_140KEV_PER_CM["liver"], MU_140KEV_PER_CM["liver"]) for les in lesions
    }
    return paint(scene, lesions, dict(MU_140KEV_PER_CM), lesion_mu)


@dataclass(frozen=True, eq=False)
class PlanarProjection:
    """Noise-free anterior and posterior projections with attenuation (counts).

    Arrays are ``(z, x)`` with z increasing along axis 0 and x along axis 1 (grid order);
    the display orientation is applied when the planar volumes are built.
    """

    anterior: npt.NDArray[np.float64]
    posterior: npt.NDArray[np.float64]
    lung_anterior: float
    lung_posterior: float
    liver_anterior: float
    liver_posterior: float

    @property
    def geometric_mean_lsf(self) -> float:
        """LSF from organ totals: GM_lung / (GM_lung + GM_liver) with GM = sqrt(ant · post)."""
        gm_lung = math.sqrt(self.lung_anterior * self.lung_posterior)
        gm_liver = math.sqrt(self.liver_anterior * self.liver_posterior)
        return gm_lung / (gm_lung + gm_liver)


def planar_projection(
    activity: npt.NDArray[np.floating],
    lung_activity: npt.NDArray[np.floating],
    mu_per_cm: npt.NDArray[np.floating],
    geometry: Geometry,
    counts_per_activity: float,
) -> PlanarProjection:
    """Parallel-hole projections along y with attenuation ``exp(-∫μ dl)`` to each detector.

    The anterior detector sees a voxel through the tissue in front of it (rows with smaller
    y), the posterior one through the tissue behind it; half of the voxel's own thickness is
    included. Lung and liver totals are projected separately so that the geometric-mean LSF
    uses ideal, non-overlapping organ regions (scatter and collimator blur are left out of the
    truth; the written planar images are blurred and noisy).
    """
    if geometry.orientation != "SPL":
        raise ValueError(f"planar projection needs an axial SPL grid, got {geometry.orientation}")
    dy_cm = geometry.spacing_mm[1] / 10.0
    mu = np.asarray(mu_per_cm, dtype=np.float64) * dy_cm
    cum = np.cumsum(mu, axis=1)
    through_front = cum - 0.5 * mu
    through_back = cum[:, -1:, :] - cum + 0.5 * mu
    t_ant = np.exp(-through_front)
    t_post = np.exp(-through_back)
    act = np.asarray(activity, dtype=np.float64) * counts_per_activity
    lung = np.asarray(lung_activity, dtype=np.float64) * counts_per_activity
    liver = act - lung
    return PlanarProjection(
        anterior=np.sum(act * t_ant, axis=1),
        posterior=np.sum(act * t_post, axis=1),
        lung_anterior=float(np.sum(lung * t_ant)),
        lung_posterior=float(np.sum(lung * t_post)),
        liver_anterior=float(np.sum(liver * t_ant)),
        liver_posterior=float(np.sum(liver * t_post)),
    )


def noise_seed(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible generator for one image (stable across processes)."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))]))


def paint_suv(
    scene: AnatomyScene, lesions: Sequence[LesionScene], liver_suv: float | None = None
) -> npt.NDArray[np.float32]:
    """SUV truth image (noise-free, unblurred)."""
    values: dict[str, Value] = dict(_SUV)
    liver = float(values["liver"]) if liver_suv is None else liver_suv
    values["liver"] = liver
    lesion_values = {
        les.state.lesion.number: (liver * les.state.lesion.sstr_ratio, NECROSIS_SUV) for les in lesions
    }
    return paint(scene, lesions, values, lesion_values)


def paint_mr(scene: AnatomyScene, lesions: Sequence[LesionScene]) -> npt.NDArray[np.float32]:
    """Hepatobiliary-phase MR truth image (noise-free, unblurred)."""
    values: Mapping[str, Value] = dict(_MR)
    liver = _MR["liver"]
    lesion_values = {
        les.state.lesion.number: (liver * les.state.lesion.mr_hbp_ratio, NECROSIS_MR) for les in lesions
    }
    return paint(scene, lesions, values, lesion_values)


def rician_noise(
    image: npt.NDArray[np.floating], sigma: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Magnitude of the image plus complex Gaussian noise of standard deviation ``sigma``."""
    if sigma <= 0:
        return np.asarray(image, dtype=np.float32)
    re = np.asarray(image, dtype=np.float32) + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    im = rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.asarray(np.sqrt(re * re + im * im), dtype=np.float32)
