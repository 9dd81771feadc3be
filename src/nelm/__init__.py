"""nelm: imaging workbench for liver-directed therapy of neuroendocrine liver metastases.

For research use only; not a medical device.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: Shown in every output nelm writes.
RESEARCH_USE_DISCLAIMER = "For research use only; not a medical device. Not for clinical decisions."

__all__ = ["RESEARCH_USE_DISCLAIMER", "__version__"]
