"""Physical constants used across the pipeline (one definition each)."""

#: Standard acceleration of gravity, m/s^2: the conventional value of the 3rd CGPM (1901),
#: kept in the SI (BIPM SI Brochure, 9th ed., 2019). Body weight = mass x this.
STANDARD_GRAVITY_M_S2 = 9.80665
