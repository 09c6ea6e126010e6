"""``python -m tools.cli``: the ``territoire`` command (the HIL scenarios start the gateway so)."""

from tools.cli import main

main()
