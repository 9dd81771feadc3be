"""highdicom's warnings routed to nelm's log."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

__all__ = ["highdicom_warnings_to_log"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def highdicom_warnings_to_log() -> Iterator[None]:
    """Route highdicom's ``UserWarning``\\ s to this module's logger at DEBUG level (never lost,
    never printed)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                logger.debug("highdicom: %s", w.message)
