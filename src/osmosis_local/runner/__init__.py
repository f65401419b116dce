"""The run core: set-up, the agent loop, the eval pool, the test run, rescore."""
