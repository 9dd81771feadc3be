"""The ``nelm`` command line: one module per sub-command, :func:`nelm.cli.main.main` dispatches."""
