"""What one finished run is (`RunRecord`) and what a transcript log says about how it was made (`LogHeader`).

A transcript log is JSON lines: a `LogHeader` first (the run's settings, as recorded), then one `RunRecord`
per finished run. The same records feed the console, the `-o` results and, through `--resume`, the next run.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, computed_field, model_validator

from osmosis_local.config.settings import EvalConfig, RolloutTestConfig
from osmosis_local.types import Message

HEADER_KEY = "#header"
SLIM_ANSWER_CHARS = 4000  # the answer a slim record keeps (the transcript log has the whole of it)


def _messages_as_written(value: Any) -> list[Message]:
    """A conversation read back exactly as it was written (extra keys and unusual content kept): only its shape,
    a list of objects with a role, is checked."""
    if not isinstance(value, list) or not all(isinstance(m, dict) and "role" in m for m in value):
        raise ValueError("messages must be a list of objects with a 'role'")
    return value


def _messages_out(value: list[Message]) -> list[Any]:
    return list(value)


# The conversation of a run: typed as the OpenAI messages it is, kept verbatim through the log.
MessageList = Annotated[
    list[Message], PlainValidator(_messages_as_written), PlainSerializer(_messages_out, return_type=list[Any])
]


# How a rollout ended, in the words the console, `-o`, the report and the API use:
# answered      the model stopped calling tools and answered (finish reason "stop")
# out_of_turns  --max-turns LLM calls were made and the model was still calling tools ("max_turns")
# cut_off       the model's last reply hit --max-tokens / the context ("length")
# error         the rollout failed (model or loop error, or aborted in interactive mode)
EndState = Literal["answered", "out_of_turns", "cut_off", "error"]
END_STATES: tuple[EndState, ...] = ("answered", "out_of_turns", "cut_off", "error")
END_STATE_LABELS: dict[EndState, str] = {
    "answered": "OK",
    "out_of_turns": "OUT OF TURNS",
    "cut_off": "CUT OFF",
    "error": "FAILED",
}


def end_state(success: bool, finish_reason: str) -> EndState:
    """The end state of a rollout from whether it erred and its finish reason (the one place this is decided)."""
    if not success:
        return "error"
    states: dict[str, EndState] = {"stop": "answered", "max_turns": "out_of_turns", "length": "cut_off"}
    return states.get(finish_reason, "error")


def end_state_counts(states: list[EndState]) -> dict[EndState, int]:
    """How many runs ended in each state, every state listed (0 included), in `END_STATES` order."""
    return {state: states.count(state) for state in END_STATES}


def run_key(row_index: int, run_index: int, model_tag: str = "primary") -> str:
    """The record key the runner and ``--resume`` agree on: ``row-<i>/run-<k>/<model_tag>``."""
    return f"row-{row_index}/run-{run_index}/{model_tag}"


class TokenUsage(BaseModel):
    """Tokens one rollout spent on the policy model (judge tokens are counted separately)."""

    model_config = ConfigDict(extra="ignore")

    prompt_tokens: int = Field(default=0, description="prompt tokens over all LLM calls")
    completion_tokens: int = Field(default=0, description="completion tokens over all LLM calls")
    total_tokens: int = Field(default=0, description="their sum")
    num_llm_calls: int = Field(default=0, description="LLM calls made")


class ToolCallRecord(BaseModel):
    """One executed tool call: what the model asked for and what it got back."""

    model_config = ConfigDict(extra="ignore")

    call_id: str
    name: str
    arguments: Any = Field(description="as the model sent them (usually a JSON string)")
    content: str = Field(description="the tool message the model read next")
    is_error: bool
    duration_ms: float


class _Outcome:
    """How a run ended, in the words of every result, for `RunRecord` and `RunFigures` alike (both have
    ``end_state``, ``error``, ``finish_reason`` and ``token_usage``)."""

    __slots__ = ()
    if TYPE_CHECKING:  # what the two classes provide (fields of one, properties or slots of the other)

        @property
        def end_state(self) -> EndState: ...
        @property
        def error(self) -> str | None: ...
        @property
        def finish_reason(self) -> str: ...
        @property
        def token_usage(self) -> TokenUsage: ...

    @property
    def answered(self) -> bool:
        """The run ended with an answer: what ``success`` means in every result (`test`, `eval`, the API)."""
        return self.end_state == "answered"

    @property
    def why_no_answer(self) -> str | None:
        """Why the run did not end with an answer (the rollout's error, or what stopped it), or None."""
        state = self.end_state
        if state == "out_of_turns":
            return (f"ran out of turns while still calling tools after {self.token_usage.num_llm_calls} LLM calls "
                    "(raise --max-turns?)")  # fmt: skip
        if state == "cut_off":
            return "the model was cut off before it answered (finish_reason=length; raise --max-tokens?)"
        if state == "error":
            return self.error or f"the rollout ended without an answer (finish_reason={self.finish_reason})"
        return None


class RunRecord(_Outcome, BaseModel):
    """One finished rollout (and, in `eval`, its scores): a line of the transcript log."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["run"] = "run"
    key: str
    command: Literal["test", "eval"]
    row_index: int
    run_index: int = 0
    model_tag: str = "primary"
    model: str
    seed: int | None = None
    success: bool = Field(
        description="the rollout finished without an error (it may still have run out of turns: see end_state)"
    )
    error: str | None = None
    systemic: bool = Field(default=False, description="the error would break every run (bad key, unknown model)")
    finish_reason: str
    reward: float | None = Field(default=None, description="the agent loop's own reward (Remote Rollout)")
    scores: dict[str, float] = Field(default_factory=dict)
    score_errors: dict[str, str] = Field(default_factory=dict)
    token_usage: TokenUsage = Field(default_factory=TokenUsage)
    started_at: str = ""
    duration_ms: float = 0.0
    ground_truth: str = ""
    answer: str = Field(default="", description="the last assistant text: what a simple-mode eval fn scores")
    columns: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="the row's short extra columns (what `view` breaks the scores down by)"
    )
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    messages: MessageList = Field(default_factory=list)

    @property
    def tokens(self) -> int:
        return self.token_usage.total_tokens

    @computed_field(description="answered, out_of_turns, cut_off or error (see EndState)")  # type: ignore[prop-decorator]
    @property
    def end_state(self) -> EndState:
        return end_state(self.success, self.finish_reason)

    def figures(self) -> RunFigures:
        """The figures of this run (`RunFigures`): what its result needs, in a fraction of the memory."""
        return RunFigures(self)

    def slim(self) -> RunRecord:
        """This record without its conversation and tool calls, the answer cut to `SLIM_ANSWER_CHARS`: what a
        run's result needs (scores, state, tokens, timings), so memory does not grow with transcripts (the log
        on disk keeps everything)."""
        values = {**self.__dict__, "messages": [], "tool_calls": [], "answer": bounded_answer(self.answer),
                  "token_usage": _shared_usage(self.token_usage)}  # fmt: skip
        # one fields-set object for every slim record (pydantic would keep a copy of its own per instance)
        return RunRecord.model_construct(_fields_set=_SLIM_FIELDS, **values)

    def loose_messages(self) -> list[dict[str, Any]]:
        """The conversation as plain dicts, for readers that must survive any shape a log may hold."""
        return cast(list[dict[str, Any]], self.messages)  # a log's messages are kept as written (see MessageList)


def bounded_answer(answer: str) -> str:
    """The answer a result shows: cut to `SLIM_ANSWER_CHARS`, saying how much more the log has (an answer cut
    already is kept as it is)."""
    extra = len(answer) - SLIM_ANSWER_CHARS
    if extra <= 0:
        return answer
    cut = _CUT.search(answer, SLIM_ANSWER_CHARS)
    if cut is not None and cut.start() == SLIM_ANSWER_CHARS:
        return answer
    return f"{answer[:SLIM_ANSWER_CHARS]}... [{extra} more characters in the log]"


_CUT = re.compile(r"\.\.\. \[\d+ more characters in the log\]\Z")


class RunFigures(_Outcome):
    """What a result needs of one finished run - scores, state, tokens, timings, the answer cut to
    `SLIM_ANSWER_CHARS` - with `RunRecord`'s names for them, in about 0.5 KB (a slim `RunRecord` takes ~2 KB).

    The runner keeps one per finished run, and the result is built from them, so an eval's memory does not grow
    with its transcripts (the log on disk has everything). Read-only.
    """

    __slots__ = (
        "_answer", "_error", "_score_errors", "_score_names", "_score_values", "_tokens", "duration_ms", "key",
        "model", "model_tag", "reward", "row_index", "run_index", "seed", "started_at", "success", "_finish_reason",
    )  # fmt: skip

    def __init__(self, record: RunRecord) -> None:
        self.key, self.row_index, self.run_index = record.key, record.row_index, record.run_index
        self.model_tag, self.model, self.seed = record.model_tag, record.model, record.seed
        self.success = record.success
        self._finish_reason, self.reward, self.started_at = record.finish_reason, record.reward, record.started_at
        self.duration_ms = record.duration_ms
        self._error = record.error
        self._answer = bounded_answer(record.answer)
        names = tuple(record.scores)
        self._score_names = _SCORE_NAMES.setdefault(names, names)  # one tuple per set of eval functions
        self._score_values = tuple(record.scores.values())
        self._score_errors = dict(record.score_errors) or None
        usage = record.token_usage
        self._tokens = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.num_llm_calls)

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def finish_reason(self) -> str:
        return self._finish_reason

    @property
    def answer(self) -> str:
        return self._answer

    @property
    def scores(self) -> dict[str, float]:
        return dict(zip(self._score_names, self._score_values, strict=True))

    @property
    def score_errors(self) -> dict[str, str]:
        return dict(self._score_errors or {})

    @property
    def token_usage(self) -> TokenUsage:
        prompt, completion, total, calls = self._tokens
        return TokenUsage.model_construct(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                                          num_llm_calls=calls)  # fmt: skip

    @property
    def tokens(self) -> int:
        return self._tokens[2]

    @property
    def end_state(self) -> EndState:
        return end_state(self.success, self.finish_reason)

    def figures(self) -> RunFigures:
        return self


_SCORE_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
RunLike = RunRecord | RunFigures  # what a result is built from: a record read from a log, or a run's figures
_SLIM_FIELDS: set[str] = set(RunRecord.model_fields)
_USAGE: dict[tuple[int, int, int, int], TokenUsage] = {}


def _shared_usage(usage: TokenUsage) -> TokenUsage:
    """One `TokenUsage` object per distinct count (slim records of similar runs share them; never mutated)."""
    key = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.num_llm_calls)
    found = _USAGE.get(key)
    if found is None:
        if len(_USAGE) > 100_000:
            _USAGE.clear()
        found = _USAGE[key] = usage
    return found


RecordedSettings = Annotated[EvalConfig | RolloutTestConfig, Field(union_mode="left_to_right")]


def _upgrade_header(data: Any) -> Any:
    """A header written before the settings spine (``settings`` + ``run`` + ``dataset``), as today's."""
    if not isinstance(data, dict) or "run" not in data or not isinstance(data.get("settings"), dict):
        return data
    old, run = data["settings"], data.get("run") or {}
    tools = str(run.get("mcp") or "")
    settings = {
        **{k: v for k, v in old.items() if k in EvalConfig.model_fields},
        "dataset": data.get("dataset", ""),
        "mcp": None if tools.startswith(("http://", "https://")) else tools or ".",
        "mcp_url": tools if tools.startswith(("http://", "https://")) else None,
        "n_runs": run.get("n_runs", 1),
        "pass_threshold": run.get("pass_threshold", 1.0),
        "limit": run.get("limit"),
        "offset": run.get("offset", 0),
        "batch_size": run.get("batch_size", 1),
        "rescore_of": run.get("rescore_of"),
    }
    if data.get("command") == "test":
        settings = {k: v for k, v in settings.items() if k in RolloutTestConfig.model_fields}
    rest = {k: v for k, v in data.items() if k not in ("settings", "run", "dataset")}
    return {**rest, "settings": settings}


class LogHeader(BaseModel):
    """The first line of a transcript log: the command and its settings, recorded as the run resolved them."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["header"] = "header"
    key: str = HEADER_KEY
    command: Literal["test", "eval", "rescore"]
    created_at: str = Field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    settings: RecordedSettings

    @model_validator(mode="before")
    @classmethod
    def _older_layout(cls, data: Any) -> Any:
        return _upgrade_header(data)

    @property
    def eval_settings(self) -> EvalConfig | None:
        """The settings of an eval or a rescore (None for the log of a `test`)."""
        return self.settings if isinstance(self.settings, EvalConfig) else None
