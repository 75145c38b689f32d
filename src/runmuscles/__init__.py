"""runmuscles: which muscles does running work, and how much.

The pipeline is readers -> model -> kinematics -> dynamics -> muscles -> analyses ->
reports. Each stage is a subpackage with a small public API; the command line is a thin
layer over :mod:`runmuscles.pipeline`.
"""

__version__ = "0.1.0"
