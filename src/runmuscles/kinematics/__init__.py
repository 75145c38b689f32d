"""kinematics stage."""
