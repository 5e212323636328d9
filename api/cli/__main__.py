"""`python -m api.cli`: the `riskmap` command."""

from api.cli import main

main()
