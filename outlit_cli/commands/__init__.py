"""Subcommands of ``outlit-etl``, one module each; :mod:`outlit_cli.main` lists them.

Each module exposes ``register(subparsers)``. Heavy imports (the client, dlt, the reverse-load engine)
happen inside the handlers so that ``outlit-etl --help`` stays instant.
"""
