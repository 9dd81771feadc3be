"""How nelm treats messy clinical input: IGNORE, WARN or RAISE.

Modelled on pydicom's ``config.settings.reading_validation_mode``. Readers take a ``policy``
argument for problems that a careful user may choose to tolerate (a nominal SliceThickness
that disagrees with the slice positions, a non-image file in a series folder, a missing
optional tag). Problems that would make a result wrong (a gap in a series, non-parallel
slices, duplicate positions) always raise, whatever the policy.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from nelm.errors import InputError, NelmError

__all__ = ["Policy", "apply_policy"]


class Policy(StrEnum):
    """What to do about a tolerable problem in the input."""

    IGNORE = "ignore"
    """Go on silently (the problem is still logged at DEBUG level)."""
    WARN = "warn"
    """Go on, log a warning and record it in the result's warnings."""
    RAISE = "raise"
    """Stop with an error."""


def apply_policy(
    policy: Policy,
    message: str,
    *,
    logger: logging.Logger,
    warnings: list[str] | None = None,
    error: type[NelmError] = InputError,
) -> None:
    """Handle one tolerable problem according to ``policy``.

    Parameters
    ----------
    policy:
        The caller's choice.
    message:
        What is wrong, naming the file and the field.
    logger:
        The calling module's logger.
    warnings:
        If given, WARN appends ``message`` to it so the result can carry it.
    error:
        The exception class raised under RAISE.
    """
    if policy is Policy.RAISE:
        raise error(message)
    if policy is Policy.WARN:
        logger.warning(message)
        if warnings is not None:
            warnings.append(message)
    else:
        logger.debug("ignored: %s", message)
