"""Liver anatomy shared by the phantom and the measurements: Couinaud segments and lobes.

Couinaud's functional segments (Couinaud 1957; Bismuth, World J Surg 1982;6:3): 1 caudate;
2–3 left lateral, 4 left medial (the left lobe); 5–8 the right lobe. The caudate (segment 1) is
reported as its own lobe, ``"caudate"``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LOBES", "LOBE_OF_SEGMENT", "SEGMENTS_OF_LOBE"]

#: Lobe of each Couinaud segment.
LOBE_OF_SEGMENT: Final[dict[int, str]] = {
    1: "caudate",
    2: "left",
    3: "left",
    4: "left",
    5: "right",
    6: "right",
    7: "right",
    8: "right",
}

#: Couinaud segments of each lobe, ascending.
SEGMENTS_OF_LOBE: Final[dict[str, tuple[int, ...]]] = {
    lobe: tuple(s for s, lb in LOBE_OF_SEGMENT.items() if lb == lobe) for lobe in ("right", "left", "caudate")
}

#: The lobe names.
LOBES: Final[frozenset[str]] = frozenset(LOBE_OF_SEGMENT.values())
