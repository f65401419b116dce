"""The `osmosis-local` subcommands; each module imports its heavy dependencies only when it runs."""
