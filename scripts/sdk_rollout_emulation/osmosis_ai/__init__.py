"""A minimal stand-in for the original SDK (osmosis-ai 0.2.17), for one test: content imports under it.

Only what ``reward_fn/`` and ``rollout_server/server.py`` import exists here. The decorators return the function
(the SDK's signature rules are checked elsewhere: ``osmosis-local check``'s ``sdk_rules``).
"""


def osmosis_reward(func):
    return func


def osmosis_rubric(func):
    return func
