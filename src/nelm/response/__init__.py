"""Longitudinal response assessment: RECIST 1.1, mRECIST, EASL, WHO, Choi, PERCIST, volumetric.

For research use only; not a medical device.
"""

from __future__ import annotations
