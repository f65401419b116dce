"""A Remote Rollout agent whose `run` is not a coroutine function: the SDK refuses to serve it."""

from osmosis_local.rollout import RolloutAgentLoop


class Agent(RolloutAgentLoop):
    name = "sync_agent"

    def get_tools(self, request):
        return []

    def run(self, ctx):  # must be `async def run`
        return ctx.complete(list(ctx.request.messages))


agent_loop = Agent()
