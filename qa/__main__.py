"""`python -m qa`: the `qa` command, for when the console script is not on the PATH."""

from qa.surfaces.cli import main

main()
