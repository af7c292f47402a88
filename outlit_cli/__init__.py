"""``outlit-etl`` and ``make demo``: the command line over the core, the dlt source and the sandbox."""
