"""Fixtures shared by the tests of every layer (the tests mirror ``src/osmosis_local/``: a folder per layer,
plus ``repository/`` for the content this repository ships).

- ``policy``: the scripted-policy TEST DOUBLE (it replays each row's ``steps``) behind a real
  OpenAI-compatible HTTP endpoint on 127.0.0.1; a stand-in for a model, not a model.
- ``cli``: ``osmosis-local`` run in-process (``cli("eval", ...)`` returns the exit code; ``cli.eval(url, ...)``
  runs the common eval and returns its `helpers.EvalOutcome`).
- ``content_repo``: a temporary copy of this repository's content (``mcp/``, ``reward_fn/``,
  ``reward_rubric/``, ``test_data.jsonl``), made the working directory.
- ``llm_client``: both model-call paths, plain HTTP and litellm.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO, Cli, dataset_rows

from osmosis_local.testing.scripted_policy import ScriptedPolicy
from osmosis_local.testing.scripted_server import ScriptedOpenAIServer


@pytest.fixture
def policy() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(ScriptedPolicy(dataset_rows())) as server:
        yield server


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def content_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("mcp", "reward_fn", "reward_rubric"):
        shutil.copytree(REPO / folder, repo / folder, ignore=ignore)
    shutil.copy(REPO / "test_data.jsonl", repo / "test_data.jsonl")
    monkeypatch.chdir(repo)
    monkeypatch.syspath_prepend(str(repo))
    return repo


@pytest.fixture
def forget_content_imports() -> Iterator[None]:
    """For tests that import content in this process (``-m server:agent_loop``): afterwards the modules loaded from
    the repository's content folders are forgotten and ``sys.path`` is as it was, so a later test that loads
    ``mcp/`` the SDK's way does not find ``rollout_server/server.py`` as ``server``."""
    import sys

    path_before, modules_before = list(sys.path), dict(sys.modules)
    roots = tuple(str(REPO / folder) for folder in ("mcp", "rollout_server", "reward_fn", "reward_rubric"))
    yield
    sys.path[:] = path_before
    for name, module in list(sys.modules.items()):
        if modules_before.get(name) is module:
            continue
        file = getattr(module, "__file__", None) or ""
        if file.startswith(roots) or name.startswith("_osmosis_mcp_"):
            if name in modules_before:  # replaced (e.g. mcp/server.py's ``server`` by rollout_server/server.py)
                sys.modules[name] = modules_before[name]
            else:
                del sys.modules[name]


@pytest.fixture(params=["auto", "litellm"])
def llm_client(request: pytest.FixtureRequest) -> str:
    """Both model-call paths: plain HTTP (the default for an OpenAI-compatible URL) and litellm."""
    return str(request.param)
