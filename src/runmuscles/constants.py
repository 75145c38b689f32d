"""Physical constants used across the pipeline (one definition each)."""

#: Standard acceleration of gravity, m/s^2: the conventional value of the 3rd CGPM (1901),
#: kept in the SI (BIPM SI Brochure, 9th ed., 2019). Body weight = mass x this.
STANDARD_GRAVITY_M_S2 = 9.80665

#: Hicks JL, Uchida TK, Seth A, Rajagopal A, Delp SL (2015) Is my model good enough? Best
#: practices for verification and validation of musculoskeletal models and simulations of
#: movement. J Biomech Eng 137:020905. Residual forces: peak below 5 % of the peak external
#: force; residual moments: peak below 1 % of (centre-of-mass height x peak external force).
HICKS_RESIDUAL_FORCE_FRACTION = 0.05
HICKS_RESIDUAL_MOMENT_FRACTION = 0.01
