"""muscles stage."""
