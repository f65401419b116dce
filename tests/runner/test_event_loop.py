"""The loop the commands and the API run on (`runner.event_loop`): uvloop where installed, asyncio on request."""

from __future__ import annotations

import asyncio

import pytest

from osmosis_local.runner.event_loop import EVENT_LOOP_ENV, loop_name, run


async def _which() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


@pytest.mark.parametrize(("setting", "expected"), [("", "uvloop"), ("asyncio", "asyncio"), (" AsyncIO ", "asyncio"),
                                                   ("uvloop", "uvloop")])  # fmt: skip
def test_the_loop_is_uvloop_unless_asyncio_is_asked_for(setting: str, expected: str, monkeypatch) -> None:
    monkeypatch.setenv(EVENT_LOOP_ENV, setting)
    assert loop_name() == expected
    assert run(_which()) == expected


def test_a_ctrl_c_cancels_the_main_task_on_uvloop_as_on_asyncio(monkeypatch) -> None:
    """What the eval's partial results rely on: Ctrl-C cancels the running task, which can still clean up."""
    import os
    import signal

    monkeypatch.delenv(EVENT_LOOP_ENV, raising=False)
    cleaned: list[bool] = []

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cleaned.append(True)
            raise

    with pytest.raises(KeyboardInterrupt):
        run(main())
    assert cleaned == [True]
