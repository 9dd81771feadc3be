"""Y-90 radioembolisation: lung shunt, activity planning, vial logistics, safety checks and voxel
dosimetry (``reference/y90-dosimetry.md``). For research use; not a medical device."""

from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants

__all__ = ["DEFAULT_CONSTANTS", "Y90Constants"]
