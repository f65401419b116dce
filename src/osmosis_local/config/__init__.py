"""The settings of a run: one typed model per command, built once from the CLI or the Python API.

`osmosis_local.config.settings` holds the models (and which settings ``--resume`` may change);
`osmosis_local.config.options` the Python API's keyword types; `osmosis_local.config.defaults` the defaults
the command line shows in its help (this package imports nothing, so ``--help`` stays fast).
"""
