"""``python -m cephflow``: the same command line as the ``cephflow`` entry point."""

from cephflow.cli.app import main

main()
