"""Best overall response (with and without confirmation) and time to progression.

Rules (Eisenhauer et al. 2009, RECIST 1.1 §4.4 and Table 3; reference/response-criteria.md §1.1;
the parameter names follow admiralonco's ``derive_param_confirmed_bor``):

* Evaluation stops at the first progression (PD); later time points do not count.
* **Without confirmation** (randomised trials, and the default here): the best category recorded,
  in the order CR > PR > SD (and non-CR/non-PD for patients without target disease) > PD > NE. An
  SD (or non-CR/non-PD) counts only at or after ``sd_min_days`` from the baseline; an earlier
  one does not, and the BOR is then PD if progression follows, else NE.
* **With confirmation** (non-randomised trials with response as the end point): a CR counts only
  when a later CR at least ``min_confirmation_days`` after it confirms it, with at most
  ``max_ne_between`` NE time points and nothing else between; a PR counts when a later CR or PR
  confirms a CR or PR the same way (so CR → PR gives PR, one of the options of Table 3's
  "SD, PD or PR"; the criterion itself turns a true reappearance after CR into PD). Otherwise
  the BOR is SD if an unconfirmed CR/PR or an SD lies at or after ``sd_min_days``, else PD if
  progression was recorded, else NE.

Each criterion may use its own category names; ``aliases`` maps them to CR/PR/SD/PD/NE (e.g.
PERCIST ``{"CMR": "CR", "PMR": "PR", "SMD": "SD", "PMD": "PD"}``) and the BOR is returned in
the criterion's own names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nelm.errors import ConfigError
from nelm.response.results import TimePointResponse

__all__ = ["BorSettings", "best_overall_response", "time_to_progression"]

_CANONICAL = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE")
_RANK = {name: i for i, name in enumerate(_CANONICAL)}


@dataclass(frozen=True)
class BorSettings:
    """Best-overall-response settings.

    Parameters
    ----------
    confirmation:
        Require confirmation of CR and PR (RECIST 1.1: in non-randomised trials with response as
        the primary end point; not in randomised trials). Default ``False``.
    min_confirmation_days:
        Smallest interval between a response and the scan confirming it (RECIST 1.1 and WHO:
        4 weeks = 28 days).
    sd_min_days:
        Smallest interval from the baseline for SD to count (protocol-defined, "typically 6–8
        weeks"; 42 days is nelm's default).
    max_ne_between:
        Largest number of NE time points allowed between a response and its confirmation
        (admiralonco's ``max_nr_ne``, default 1).
    """

    confirmation: bool = False
    min_confirmation_days: int = 28
    sd_min_days: int = 42
    max_ne_between: int = 1

    def __post_init__(self) -> None:
        for name in ("min_confirmation_days", "sd_min_days", "max_ne_between"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"BOR setting {name} must be an integer ≥ 0, got {value!r}")

    def settings_text(self) -> dict[str, str]:
        """The settings as text, for a criterion result."""
        return {
            "bor_confirmation": "required" if self.confirmation else "not required",
            "bor_min_confirmation_days": str(self.min_confirmation_days),
            "bor_sd_min_days": str(self.sd_min_days),
            "bor_max_ne_between": str(self.max_ne_between),
        }


def _canonical(rows: Sequence[TimePointResponse], aliases: Mapping[str, str] | None) -> list[str]:
    out = []
    for row in rows:
        name = (aliases or {}).get(row.category, row.category)
        if name not in _RANK:
            raise ConfigError(
                f"time point {row.time_point}: category {row.category!r} has no best-overall-response rank "
                f"(expected one of {', '.join(_CANONICAL)} or an alias of one)"
            )
        out.append(name)
    return out


def _own_name(canonical: str, aliases: Mapping[str, str] | None) -> str:
    for own, name in (aliases or {}).items():
        if name == canonical:
            return own
    return canonical


def _follow_ups(rows: Sequence[TimePointResponse]) -> list[TimePointResponse]:
    """The follow-up rows (the baseline row dropped)."""
    return [r for r in rows if r.category != "baseline"]


def _confirmed(
    rows: Sequence[TimePointResponse],
    cats: Sequence[str],
    first: int,
    accept: set[str],
    settings: BorSettings,
) -> int | None:
    """Index of the first row that confirms row ``first`` (a category in ``accept``), or None."""
    ne = 0
    for j in range(first + 1, len(rows)):
        gap = rows[j].days_from_baseline - rows[first].days_from_baseline
        if cats[j] in accept and gap >= settings.min_confirmation_days:
            return j
        if cats[j] == "NE":
            ne += 1
            if ne > settings.max_ne_between:
                return None
        elif cats[j] not in accept:
            return None
    return None


def best_overall_response(
    rows: Sequence[TimePointResponse],
    settings: BorSettings,
    *,
    aliases: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """Best overall response of a criterion's time-point responses, and the rule in words.

    Parameters
    ----------
    rows:
        The criterion's rows in date order; a row with category ``baseline`` is skipped.
    settings:
        :class:`BorSettings`.
    aliases:
        The criterion's category names mapped to CR/PR/SD/PD/NE.

    Raises
    ------
    ConfigError
        A category that has no rank.
    """
    follow = _follow_ups(rows)
    cats = _canonical(follow, aliases)
    if "PD" in cats:
        stop = cats.index("PD")
        follow, cats = follow[: stop + 1], cats[: stop + 1]
    if not follow:
        return "NE", "no follow-up time point"

    def name(c: str) -> str:
        return _own_name(c, aliases)

    def at(i: int) -> str:
        return f"{follow[i].time_point} ({follow[i].date}, day {follow[i].days_from_baseline:g})"

    progression = "PD" in cats
    if settings.confirmation:
        for wanted, accept in (("CR", {"CR"}), ("PR", {"CR", "PR"})):
            for i, c in enumerate(cats):
                if c not in accept:
                    continue
                j = _confirmed(follow, cats, i, accept, settings)
                if j is not None:
                    gap = follow[j].days_from_baseline - follow[i].days_from_baseline
                    return name(wanted), (
                        f"{name(wanted)}: {name(cats[i])} at {at(i)} confirmed by "
                        f"{name(cats[j])} at {at(j)}, "
                        f"{gap:g} days later (≥ {settings.min_confirmation_days} days required)"
                    )
    best: int | None = None
    for i, c in enumerate(cats):
        if c in ("PD", "NE"):
            continue
        c = _effective(c, settings)  # an unconfirmed response counts as stable disease at most
        if c in ("SD", "non-CR/non-PD") and follow[i].days_from_baseline < settings.sd_min_days:
            continue
        if best is None or _RANK[c] < _RANK[_effective(cats[best], settings)]:
            best = i
    if best is not None:
        c = _effective(cats[best], settings)
        unconfirmed = " (its response was not confirmed)" if c != cats[best] else ""
        minimum = (
            f", at least {settings.sd_min_days} days after the baseline"
            if c in ("SD", "non-CR/non-PD")
            else ""
        )
        return name(c), f"{name(c)}: best time-point response at {at(best)}{minimum}{unconfirmed}"
    if progression:
        early = [i for i, c in enumerate(cats) if c not in ("PD", "NE")]
        why = (
            f"; the earlier {', '.join(at(i) for i in early)} fell short of the "
            f"{settings.sd_min_days}-day SD minimum"
            if early
            else ""
        )
        return name("PD"), f"{name('PD')}: progression at {at(cats.index('PD'))}{why}"
    return "NE", "NE: no evaluable time point meets the criteria for a better category"


def _effective(canonical: str, settings: BorSettings) -> str:
    if settings.confirmation and canonical in ("CR", "PR"):
        return "SD"
    return canonical


def time_to_progression(
    rows: Sequence[TimePointResponse], *, aliases: Mapping[str, str] | None = None
) -> tuple[str | None, float | None]:
    """The first time point with progression and its days from the baseline (``None`` if none)."""
    follow = _follow_ups(rows)
    for row, c in zip(follow, _canonical(follow, aliases), strict=True):
        if c == "PD":
            return row.time_point, row.days_from_baseline
    return None, None
