"""analyses stage."""
