"""A Remote Rollout server that cannot even be imported (a helper module that does not exist)."""

from osmosis_local.rollout import RolloutAgentLoop
from agent_helpers import build_tools  # no such module next to server.py


class Agent(RolloutAgentLoop):
    name = "broken_agent"

    def get_tools(self, request):
        return build_tools()

    async def run(self, ctx):
        return ctx.complete(list(ctx.request.messages))


agent_loop = Agent()
