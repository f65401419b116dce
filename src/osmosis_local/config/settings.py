"""The settings of a `test` or `eval` run, validated once (from the CLI's flags or from Python keywords).

Everything downstream (set-up, the runner, the reports, the transcript header) reads these models, never
the command line. API keys are `SecretStr`: they print as ``**********`` and are left out of every dump.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from osmosis_local.config.defaults import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_TURNS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_TEST_MODEL,
    DEFAULT_TOOL_TIMEOUT_S,
)
from osmosis_local.content.eval_fns import duplicate_spec_problem

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelEndpoint(_Frozen):
    """One model the run talks to: its name, and where and how to reach it."""

    name: str = Field(min_length=1, description="provider/model, a bare OpenAI name, or local/<name>")
    base_url: str | None = Field(default=None, description="an OpenAI-compatible server's base URL")
    api_key: SecretStr | None = Field(default=None, description="the key; never printed or written")

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the model name is empty")
        return value.strip()

    @field_validator("base_url")
    @classmethod
    def _blank_url_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def key(self) -> str | None:
        """The key's plain value, for the client only."""
        return self.api_key.get_secret_value() if self.api_key is not None else None


class RolloutConfig(_Frozen):
    """What `test` and `eval` share: the tools, the rows, the model, and the limits of one rollout."""

    mcp: Path | None = Field(default=None, description="folder with main.py that builds a FastMCP instance")
    mcp_url: str | None = Field(default=None, description="a running MCP server (streamable HTTP), instead of mcp")
    dataset: Path = Field(description="rows with system_prompt, user_prompt, ground_truth")
    limit: PositiveInt | None = None
    offset: NonNegativeInt = 0
    model: ModelEndpoint
    max_turns: PositiveInt = DEFAULT_MAX_TURNS
    max_tokens: PositiveInt | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    seed: NonNegativeInt | None = None
    request_timeout_s: PositiveFloat = DEFAULT_REQUEST_TIMEOUT_S
    max_retries: NonNegativeInt = DEFAULT_MAX_RETRIES
    tool_timeout_s: PositiveFloat = DEFAULT_TOOL_TIMEOUT_S
    llm_client: Literal["auto", "litellm"] = Field(
        default="auto", description="auto: plain HTTP for OpenAI-compatible URLs, litellm otherwise; litellm: always"
    )
    output: Path | None = Field(default=None, description="the -o JSON results file")
    log: Path | None = Field(default=None, description="the transcript log (default: .osmosis-local/runs/...)")


    @model_validator(mode="after")
    def _one_tool_source(self) -> RolloutConfig:
        if (self.mcp is None) == (self.mcp_url is None):
            raise ValueError("give exactly one of --mcp DIR (import the tools) and --mcp-url URL (a running server)")
        return self

    @property
    def tool_source(self) -> str:
        """The --mcp folder or the --mcp-url, as text."""
        return self.mcp_url if self.mcp_url is not None else str(self.mcp)


class TestConfig(RolloutConfig):
    """`osmosis-local test`: every row once, sequentially."""

    __test__ = False  # not a pytest test class

    model: ModelEndpoint = ModelEndpoint(name=DEFAULT_TEST_MODEL)


class FailUnder(_Frozen):
    """`--fail-under`: a minimum mean for every eval function, and/or one per function (``FN=X``)."""

    every: FiniteFloat | None = Field(default=None, description="minimum mean for every eval function")
    per_fn: dict[str, FiniteFloat] = Field(default_factory=dict, description="minimum mean per eval function")

    def threshold_for(self, fn: str) -> float | None:
        return self.per_fn.get(fn, self.every)

    @property
    def is_set(self) -> bool:
        return self.every is not None or bool(self.per_fn)

    @classmethod
    def parse(cls, values: list[str]) -> FailUnder:
        """From the flag's texts: ``X`` (every function) or ``MOD:FN=X``; raises ValueError naming the bad one."""
        every: float | None = None
        per_fn: dict[str, float] = {}
        for text in values:
            fn, sep, number = text.rpartition("=")
            try:
                value = float(number)
            except ValueError:
                raise ValueError(f"--fail-under takes X or MOD:FN=X with X a number, got {text!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"--fail-under must be a finite number, got {text!r}")
            if not sep:
                every = value
            elif not fn.strip():
                raise ValueError(f"--fail-under MOD:FN=X needs the eval function before '=', got {text!r}")
            else:
                per_fn[fn.strip()] = value
        return cls(every=every, per_fn=per_fn)


class EvalConfig(RolloutConfig):
    """`osmosis-local eval`: rollouts scored by eval functions."""

    eval_fns: list[str] = Field(min_length=1, description="MOD:FN specs, in order; the first is the headline")
    n: PositiveInt = 1
    pass_threshold: FiniteFloat = 1.0
    batch_size: PositiveInt = 1
    baseline: ModelEndpoint | None = None
    resume: Path | None = Field(default=None, description="a transcript log to continue")
    fail_under: FailUnder = FailUnder()

    @field_validator("eval_fns")
    @classmethod
    def _unique(cls, specs: list[str]) -> list[str]:
        problem = duplicate_spec_problem(specs)
        if problem:
            raise ValueError(problem)
        return specs

    @model_validator(mode="after")
    def _fail_under_names_known_fns(self) -> EvalConfig:
        unknown = sorted(set(self.fail_under.per_fn) - set(self.eval_fns))
        if unknown:
            raise ValueError(f"--fail-under names {', '.join(unknown)}, which is not an --eval-fn of this run")
        return self


def _endpoint(name: str | None, base_url: str | None, api_key: str | None) -> ModelEndpoint | None:
    if name is None:
        return None
    return ModelEndpoint(name=name, base_url=base_url, api_key=SecretStr(api_key) if api_key else None)


def _rollout_options(options: Mapping[str, Any]) -> dict[str, object]:
    """The `RolloutConfig` fields from a builder's flag-named options (its ``locals()``)."""

    def path(name: str) -> Path | None:
        return Path(options[name]) if options[name] is not None else None

    return {
        "mcp": path("mcp"),
        "mcp_url": options["mcp_url"],
        "dataset": Path(options["dataset"]),
        "limit": options["limit"],
        "offset": options["offset"],
        "max_turns": options["max_turns"],
        "max_tokens": options["max_tokens"],
        "temperature": options["temperature"],
        "seed": options["seed"],
        "request_timeout_s": options["request_timeout"],
        "max_retries": options["max_retries"],
        "tool_timeout_s": options["tool_timeout"],
        "llm_client": options["llm_client"],
        "output": path("output"),
        "log": path("log"),
    }


def eval_config(
    *,
    mcp: str | Path | None = None,
    mcp_url: str | None = None,
    dataset: str | Path,
    eval_fn: list[str] | str,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    n: int = 1,
    pass_threshold: float = 1.0,
    batch_size: int = 1,
    baseline_model: str | None = None,
    baseline_base_url: str | None = None,
    baseline_api_key: str | None = None,
    resume: str | Path | None = None,
    fail_under: float | dict[str, float] | list[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    max_turns: int = DEFAULT_MAX_TURNS,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    tool_timeout: float = DEFAULT_TOOL_TIMEOUT_S,
    llm_client: str = "auto",
    output: str | Path | None = None,
    log: str | Path | None = None,
) -> EvalConfig:
    """An `EvalConfig` from options named like the `eval` command's flags (``--eval-fn`` is ``eval_fn``).

    ``fail_under`` is a number (every eval function), ``{fn: number}``, or the flag's ``X``/``FN=X`` texts.
    Raises `pydantic.ValidationError` (a ValueError) naming each bad option.
    """
    options = dict(locals())
    if (baseline_base_url or baseline_api_key) and not baseline_model:
        raise ValueError("--baseline-base-url and --baseline-api-key need --baseline-model")
    if isinstance(fail_under, list):
        gate = FailUnder.parse(fail_under)
    elif isinstance(fail_under, dict):
        gate = FailUnder(per_fn=fail_under)
    else:
        gate = FailUnder(every=fail_under)
    return EvalConfig(
        model=_endpoint(model, base_url, api_key),
        baseline=_endpoint(baseline_model, baseline_base_url, baseline_api_key),
        eval_fns=[eval_fn] if isinstance(eval_fn, str) else list(eval_fn),
        n=n,
        pass_threshold=pass_threshold,
        batch_size=batch_size,
        resume=Path(resume) if resume is not None else None,
        fail_under=gate,
        **_rollout_options(options),
    )


def test_config(
    *,
    mcp: str | Path | None = None,
    mcp_url: str | None = None,
    dataset: str | Path,
    model: str = DEFAULT_TEST_MODEL,
    base_url: str | None = None,
    api_key: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    max_turns: int = DEFAULT_MAX_TURNS,
    max_tokens: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
    tool_timeout: float = DEFAULT_TOOL_TIMEOUT_S,
    llm_client: str = "auto",
    output: str | Path | None = None,
    log: str | Path | None = None,
) -> TestConfig:
    """A `TestConfig` from options named like the `test` command's flags."""
    options = dict(locals())
    return TestConfig(
        model=_endpoint(model, base_url, api_key),
        **_rollout_options(options),
    )


test_config.__test__ = False  # type: ignore[attr-defined]  (not a pytest test)
