"""``python -m runmuscles``: the command line."""

from .cli import main

main()
