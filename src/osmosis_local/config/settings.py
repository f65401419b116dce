"""The settings of a run: one typed model per command, the spine every layer reads.

A run's settings are built once (from the command line, the Python API's keywords, or later a config file),
validated here, recorded as-is in the transcript header, echoed as the result's ``config``, and compared by
``--resume`` (everything except `MAY_CHANGE_ON_RESUME`). Rescore and view read them back from the header.

- `GenerateConfig`: what each model turn sends when set (``max_tokens``, ``temperature``, ``top_p``).
- `RunConfig` (its subclass): what ``test`` and ``eval`` share: the tools, the rows, the model, the limits.
- `RolloutTestConfig` (``test``) and `EvalConfig` (``eval``), and `RescoreConfig` (``rescore``).

A field is named like its flag (``--max-tokens`` is ``max_tokens``); ``--n`` and ``--eval-fn`` are read
into ``n_runs`` and ``eval_fns``, the names the SDK's results use. API keys are `SecretStr`, excluded from
every dump: they are never recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from osmosis_local import __version__
from osmosis_local.config.defaults import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_TURNS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DEFAULT_REWARD_TIMEOUT_S,
    DEFAULT_TEST_MODEL,
    DEFAULT_TOOL_TIMEOUT_S,
)
from osmosis_local.redaction import url_secrets
from osmosis_local.types import SamplingParams

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Temperature = Annotated[float, Field(ge=0, le=2)]
TopP = Annotated[float, Field(gt=0, le=1)]
LLMClient = Literal["auto", "litellm"]


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True)


def _split_replicas(data: Any, key: str) -> Any:
    """``{key: [first, *more]}`` as ``{key: first, key_replicas: more}`` (a lone URL is left as it is)."""
    if not isinstance(data, dict) or not isinstance(data.get(key), list | tuple):
        return data
    urls = [u for u in data[key] if isinstance(u, str) and u.strip()]
    return {**data, key: urls[0] if urls else None, f"{key}_replicas": urls[1:]}


def _blank_is_none(value: Any) -> Any:
    return (value.strip() or None) if isinstance(value, str) else value


class ModelEndpoint(_Settings):
    """One model a run talks to: its name, and where and how to reach it."""

    name: str = Field(min_length=1, description="provider/model, a bare OpenAI name, or local/<name>")
    base_url: str | None = Field(default=None, description="an OpenAI-compatible server's base URL")
    api_key: SecretStr | None = Field(default=None, exclude=True, description="the key; never printed or written")
    replicas: list[str] = Field(default_factory=list, description="more base URLs serving the same model")

    def key(self) -> str | None:
        """The key's plain value, for the client only."""
        return self.api_key.get_secret_value() if self.api_key is not None else None


class GenerateConfig(_Settings):
    """What every model turn sends, each only when set (so a provider's own default applies otherwise)."""

    max_tokens: PositiveInt | None = Field(default=None, description="--max-tokens: most tokens per LLM call")
    temperature: Temperature | None = Field(default=None, description="--temperature")
    top_p: TopP | None = Field(default=None, description="--top-p: nucleus sampling mass")

    def params(self) -> SamplingParams:
        """The parameters that are set, by their wire names (each `GenerateConfig` field is a `SamplingParams` key)."""
        values = {name: getattr(self, name) for name in GenerateConfig.model_fields}
        return cast(SamplingParams, {name: value for name, value in values.items() if value is not None})


class Shard(_Settings):
    """`--shard K/N`: this process runs the (row, run) pairs whose position in the eval is K modulo N."""

    index: NonNegativeInt = Field(description="K: which share, from 0")
    count: PositiveInt = Field(description="N: how many shares the eval is split into")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            k, sep, n = value.partition("/")
            if not sep or not k.strip().isdigit() or not n.strip().isdigit():
                raise ValueError(f"--shard takes K/N with whole numbers 0 <= K < N, e.g. 0/3, got {value!r}")
            return {"index": int(k), "count": int(n)}
        return value

    @model_validator(mode="after")
    def _in_range(self) -> Shard:
        if self.index >= self.count:
            n = self.count
            raise ValueError(f"--shard {self.index}/{n}: K counts from 0, so it must be below N (the shares of "
                             f"{n} are 0/{n} to {n - 1}/{n})")  # fmt: skip
        return self

    def holds(self, position: int) -> bool:
        return position % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def full_fn_names(names: list[str], eval_fns: list[str], flag: str = "--fail-under") -> dict[str, str]:
    """Each name as the `MOD:FN` spec of one of ``eval_fns``: the spec itself, or any unambiguous tail of it
    (``FN`` as the console shows it, ``compute_reward:FN``). Raises ValueError naming a name that matches none
    or several."""
    resolved: dict[str, str] = {}
    for name in names:
        matches = [spec for spec in eval_fns if spec == name or spec.endswith((f":{name}", f".{name}"))]
        if len(matches) != 1:
            listing = ", ".join(eval_fns) or "none"
            if matches:
                raise ValueError(f"{flag} {name} matches {len(matches)} eval functions ({', '.join(matches)}): "
                                 "give the full MOD:FN")  # fmt: skip
            raise ValueError(f"{flag} {name}: no --eval-fn of this run is called that (this run's: {listing})")
        resolved[name] = matches[0]
    return resolved


def _gate_by_full_names(data: Any) -> Any:
    """The raw settings with ``fail_under`` parsed and its function names made full `MOD:FN` specs."""
    if not isinstance(data, dict) or data.get("fail_under") is None:
        return data
    specs = data.get("eval_fns", data.get("eval_fn"))
    specs = [specs] if isinstance(specs, str) else specs
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        return data
    gate = FailUnder.of(data["fail_under"])
    if not isinstance(gate, FailUnder) or not gate.per_fn:
        return data
    full = full_fn_names(list(gate.per_fn), specs)
    return {**data, "fail_under": gate.model_copy(update={"per_fn": {full[k]: v for k, v in gate.per_fn.items()}})}


class FailUnder(_Settings):
    """`--fail-under`: a minimum mean for every eval function, and/or one per function (``FN=X``)."""

    every: float | None = Field(default=None, description="minimum mean for every eval function")
    per_fn: dict[str, float] = Field(default_factory=dict, description="minimum mean per eval function")

    @field_validator("every")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"--fail-under must be a finite number, got {value!r}")
        return value

    @field_validator("per_fn")
    @classmethod
    def _finite_each(cls, values: dict[str, float]) -> dict[str, float]:
        for fn, value in values.items():
            if not math.isfinite(value):
                raise ValueError(f"--fail-under {fn}={value!r} must be a finite number")
        return values

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

    @classmethod
    def of(cls, value: Any) -> Any:
        """A number (every function), ``{fn: number}``, the flag's ``X``/``FN=X`` texts, or a `FailUnder`."""
        if value is None:
            return cls()
        if isinstance(value, list | tuple):
            return cls.parse([str(v) for v in value])
        if isinstance(value, int | float) and not isinstance(value, bool):
            return cls(every=float(value))
        if isinstance(value, dict) and not ({"every", "per_fn"} >= set(value) and value):
            return cls(per_fn=value)
        return value


def duplicate_spec_problem(specs: Sequence[str]) -> str | None:
    """The message for the first eval function given twice, or None when all are distinct."""
    seen: set[str] = set()
    for spec in specs:
        if spec in seen:
            return f"--eval-fn {spec!r} is given more than once; list it once"
        seen.add(spec)
    return None


class RunConfig(GenerateConfig):
    """What `test` and `eval` share: the tools, the rows, the model, and the limits of one rollout."""

    mcp: Path | None = Field(default=None, description="--mcp: the folder with main.py that builds a FastMCP instance")
    mcp_url: str | None = Field(default=None, description="--mcp-url: a running MCP server (streamable HTTP)")
    module: str | None = Field(default=None, description="-m: a RolloutAgentLoop (MOD:ATTR) run in this process")
    rollout_server: str | None = Field(
        default=None, description="--rollout-server: a RolloutServer's URL, driven over HTTP as the trainer would"
    )
    rollout_server_key: SecretStr | None = Field(
        default=None, exclude=True, description="--rollout-server-key: its API key (never recorded)"
    )
    rollout_timeout: PositiveFloat | None = Field(
        default=None, description="seconds a Remote Rollout may take (default: --request-timeout x (max turns + 1))"
    )
    dataset: Path = Field(description="-d: rows with system_prompt, user_prompt, ground_truth")
    limit: PositiveInt | None = Field(default=None, description="--limit: at most this many rows")
    offset: NonNegativeInt = Field(default=0, description="--offset: rows skipped first")
    model: str = Field(description="--model: the policy model, as typed")
    base_url: str | None = Field(default=None, description="--base-url: its endpoint, if not the provider's")
    base_url_replicas: list[str] = Field(
        default_factory=list,
        description="--base-url given again: more replicas of the model (each request goes to the least busy)",
    )
    api_key: SecretStr | None = Field(default=None, exclude=True, description="--api-key (never recorded)")
    max_turns: PositiveInt = Field(default=DEFAULT_MAX_TURNS, description="--max-turns: LLM calls per rollout")
    seed: NonNegativeInt | None = Field(default=None, description="--seed: run k of a row is sent seed + k")
    request_timeout: PositiveFloat = Field(default=DEFAULT_REQUEST_TIMEOUT_S, description="seconds per LLM request")
    max_retries: NonNegativeInt = Field(default=DEFAULT_MAX_RETRIES, description="retries on 429/5xx/timeouts")
    tool_timeout: PositiveFloat = Field(default=DEFAULT_TOOL_TIMEOUT_S, description="seconds per tool call")
    llm_client: LLMClient = Field(
        default="auto", description="auto: plain HTTP for OpenAI-compatible URLs, litellm otherwise; litellm: always"
    )
    output: Path | None = Field(default=None, description="-o: the JSON results file")
    log: Path | None = Field(default=None, description="--log: the transcript log")
    config_file: Path | None = Field(default=None, description="--config: the TOML file the settings were read from")
    # Recorded by the run itself once set-up has read the inputs (not options).
    dataset_sha256: str | None = Field(default=None, description="SHA-256 of the dataset file (set by the run)")
    tools_sha256: str | None = Field(default=None, description="SHA-256 of the offered tool schemas (set by the run)")
    harness_version: str = Field(default=__version__, description="osmosis-local version")

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the model name is empty")
        return value.strip()

    @field_validator("base_url", "mcp_url", "module", "rollout_server", mode="before")
    @classmethod
    def _blank_url(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @model_validator(mode="before")
    @classmethod
    def _replicas(cls, data: Any) -> Any:
        """``--base-url`` given several times: the first is the base URL, the others its replicas."""
        return _split_replicas(_split_replicas(data, "base_url"), "baseline_base_url")

    @field_validator("api_key", "rollout_server_key", mode="before")
    @classmethod
    def _blank_key(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @model_validator(mode="after")
    def _one_tool_source(self) -> RunConfig:
        given = [s for s in (self.mcp, self.mcp_url, self.module, self.rollout_server) if s is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of --mcp DIR (import the tools), --mcp-url URL (a running tool server), "
                "-m MOD:ATTR (an agent loop) and --rollout-server URL (a running RolloutServer)"
            )
        return self

    @property
    def mode(self) -> Literal["mcp", "agent_loop", "remote"]:
        """How a rollout runs: the built-in MCP loop, a RolloutAgentLoop in this process, or a RolloutServer."""
        if self.module is not None:
            return "agent_loop"
        return "remote" if self.rollout_server is not None else "mcp"

    @property
    def tool_source(self) -> str:
        """The --mcp folder, the --mcp-url, the -m loop or the --rollout-server, as text."""
        for source in (self.mcp_url, self.module, self.rollout_server):
            if source is not None:
                return source
        return str(self.mcp)

    @property
    def rollout_deadline(self) -> float:
        """Seconds one Remote Rollout (``-m``, ``--rollout-server``) may take: ``--rollout-timeout``, else one
        request timeout per turn plus one."""
        return self.rollout_timeout or self.request_timeout * (self.max_turns + 1)

    @property
    def endpoint(self) -> ModelEndpoint:
        """The policy model's endpoint."""
        return ModelEndpoint(name=self.model, base_url=self.base_url, api_key=self.api_key,
                             replicas=self.base_url_replicas)  # fmt: skip

    @property
    def endpoints(self) -> list[ModelEndpoint]:
        """Every model of the run, primary first."""
        return [self.endpoint]

    def keys(self) -> list[str | None]:
        """The plain API keys this run holds (for the redactor only)."""
        server_key = self.rollout_server_key.get_secret_value() if self.rollout_server_key else None
        urls = [*(u for e in self.endpoints for u in (e.base_url, *e.replicas)), self.mcp_url, self.rollout_server]
        return [*(e.key() for e in self.endpoints), server_key, *(s for url in urls for s in url_secrets(url))]


class RolloutTestConfig(RunConfig):
    """`osmosis-local test`: every row once, sequentially."""

    model: str = Field(default=DEFAULT_TEST_MODEL, description="--model: the policy model, as typed")


class EvalConfig(RunConfig):
    """`osmosis-local eval`: rollouts scored by eval functions (and `rescore`: the same, scored again)."""

    eval_fns: list[str] = Field(
        min_length=1,
        validation_alias=AliasChoices("eval_fns", "eval_fn"),
        description="--eval-fn: MOD:FN specs, in order; the first is the headline",
    )
    n_runs: PositiveInt = Field(
        default=1, validation_alias=AliasChoices("n_runs", "n"), description="--n: runs per row"
    )
    pass_threshold: FiniteFloat = Field(default=1.0, description="a run passes when its score >= this")
    batch_size: PositiveInt = Field(default=1, description="rollouts in flight at once")
    reward_timeout: PositiveFloat = Field(default=DEFAULT_REWARD_TIMEOUT_S, description="seconds per scorer call")
    baseline_model: str | None = Field(default=None, description="--baseline-model: the model compared against")
    baseline_base_url: str | None = Field(default=None, description="the baseline's endpoint")
    baseline_base_url_replicas: list[str] = Field(
        default_factory=list, description="--baseline-base-url given again: more replicas of the baseline"
    )
    baseline_api_key: SecretStr | None = Field(default=None, exclude=True, description="(never recorded)")
    resume: Path | None = Field(default=None, description="--resume: a transcript log to continue")
    fail_under: FailUnder = Field(
        default_factory=FailUnder, description="--fail-under thresholds: every (all functions), per_fn"
    )
    rescore_of: str | None = Field(default=None, description="the log that was rescored, for a rescore")
    shard: Shard | None = Field(
        default=None, description="--shard K/N: run only this share of the (row, run) pairs (merge the logs after)"
    )
    max_cost: PositiveFloat | None = Field(
        default=None,
        description="--max-cost: dollars the eval may spend (policy, baseline, judges); no new run starts past it",
    )

    @field_validator("eval_fns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("eval_fns")
    @classmethod
    def _unique(cls, specs: list[str]) -> list[str]:
        problem = duplicate_spec_problem(specs)
        if problem:
            raise ValueError(problem)
        return specs

    @field_validator("fail_under", mode="before")
    @classmethod
    def _gate(cls, value: Any) -> Any:
        return FailUnder.of(value)

    @model_validator(mode="before")
    @classmethod
    def _gate_names(cls, data: Any) -> Any:
        return _gate_by_full_names(data)

    @field_validator("baseline_model", "baseline_base_url", "baseline_api_key", mode="before")
    @classmethod
    def _blank_baseline(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @model_validator(mode="after")
    def _consistent(self) -> EvalConfig:
        if (self.baseline_base_url or self.baseline_api_key) and not self.baseline_model:
            raise ValueError("--baseline-base-url and --baseline-api-key need --baseline-model")
        if self.max_cost is not None:
            from osmosis_local.prices import price_of

            unpriced = [m for m in (self.model, self.baseline_model) if m is not None and price_of(m) is None]
            if unpriced:
                raise ValueError(
                    f"--max-cost needs the price of every model, and none is known for {', '.join(unpriced)} "
                    "(litellm's price list does not name it), so the spending could not be counted"
                )
        return self

    @property
    def baseline(self) -> ModelEndpoint | None:
        if self.baseline_model is None:
            return None
        return ModelEndpoint(name=self.baseline_model, base_url=self.baseline_base_url, api_key=self.baseline_api_key,
                             replicas=self.baseline_base_url_replicas)  # fmt: skip

    @property
    def endpoints(self) -> list[ModelEndpoint]:
        baseline = self.baseline
        return [self.endpoint] if baseline is None else [self.endpoint, baseline]


# The settings a resumed eval may change; every other one (the dataset's and tools' SHA-256 and the harness
# version included) must equal the log's, or `--resume` is refused naming each difference.
MAY_CHANGE_ON_RESUME = frozenset(
    {
        "mcp", "mcp_url", "rollout_server", "dataset", "limit", "offset", "n_runs", "pass_threshold", "batch_size",
        "request_timeout", "rollout_timeout", "max_retries", "tool_timeout", "llm_client", "output", "log", "resume",
        "fail_under", "reward_timeout", "max_cost", "config_file", "base_url_replicas", "baseline_base_url_replicas",
    }
)  # fmt: skip


def resume_differences(logged: EvalConfig, now: EvalConfig) -> list[str]:
    """One ``name: the log has X, this run has Y`` line per setting `--resume` compares that differs."""
    mine = logged.model_dump(exclude=set(MAY_CHANGE_ON_RESUME))
    theirs = now.model_dump(exclude=set(MAY_CHANGE_ON_RESUME))
    return [
        f"{name}: the log has {mine.get(name)!r}, this run has {theirs.get(name)!r}"
        for name in dict.fromkeys([*mine, *theirs])
        if mine.get(name) != theirs.get(name)
    ]


class RescoreConfig(_Settings):
    """`osmosis-local rescore LOG`: the saved runs of a log scored again (the rest comes from its header)."""

    log: Path = Field(description="the transcript log to rescore")
    eval_fns: list[str] = Field(min_length=1, validation_alias=AliasChoices("eval_fns", "eval_fn"))
    output: Path | None = None
    new_log: Path | None = Field(default=None, description="its own transcript log")
    pass_threshold: FiniteFloat | None = Field(default=None, description="None: the threshold the log's eval used")
    batch_size: PositiveInt = 8
    reward_timeout: PositiveFloat = Field(default=DEFAULT_REWARD_TIMEOUT_S, description="seconds per scorer call")
    fail_under: FailUnder = Field(default_factory=FailUnder)

    @field_validator("eval_fns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("eval_fns")
    @classmethod
    def _unique(cls, specs: list[str]) -> list[str]:
        problem = duplicate_spec_problem(specs)
        if problem:
            raise ValueError(problem)
        return specs

    @field_validator("fail_under", mode="before")
    @classmethod
    def _gate(cls, value: Any) -> Any:
        return FailUnder.of(value)

    @model_validator(mode="before")
    @classmethod
    def _gate_names(cls, data: Any) -> Any:
        return _gate_by_full_names(data)
