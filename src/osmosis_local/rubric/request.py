"""Turn a `JudgeSpec` and its prompts into the judge's request (docs/contract.md §3, the request).

- Hosted: ``openai/responses/<model>`` for OpenAI ``gpt-5*`` (the Responses API), else
  ``<provider>/<model>``; a strict ``json_schema`` named ``reward_rubric_response`` when
  ``litellm.supports_response_schema`` says so, else ``json_object``.
- Self-hosted (``base_url``) and embedded (``local``) judges: ``openai/<model>`` against that URL with a
  strict ``json_schema`` (vLLM, llama.cpp and LM Studio all honour it, and LM Studio rejects
  ``json_object``). ``model_info["response_format"]`` (json_schema | json_object | none) overrides both.
- ``temperature=0`` unless the model is a ``gpt-5*`` (which rejects it); ``reasoning_effort`` is passed
  through with ``drop_params`` so models without it ignore it.
"""

from __future__ import annotations

from typing import Any

from osmosis_local.rubric.spec import JudgeSpec
from osmosis_local.types import CompletionRequest

SCHEMA_NAME = "reward_rubric_response"


def reply_schema() -> dict[str, Any]:
    return {
        "name": SCHEMA_NAME,
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"score": {"type": "number"}, "explanation": {"type": "string"}},
            "required": ["score", "explanation"],
            "additionalProperties": False,
        },
    }


def litellm_model_id(spec: JudgeSpec) -> str:
    if spec.kind == "local":
        return f"openai/{spec.local_model}"
    if spec.kind == "base_url":
        return spec.model if spec.model.startswith("openai/") else f"openai/{spec.model}"
    if spec.provider == "openai" and spec.model.lower().startswith("gpt-5"):
        return f"openai/responses/{spec.model}"
    return f"{spec.provider}/{spec.model}"


def _supports_schema(model_id: str) -> bool:
    import litellm

    try:
        return bool(litellm.supports_response_schema(model=model_id, custom_llm_provider=None))
    except Exception:  # noqa: BLE001 - an unknown model simply gets the simpler mode
        return False


def response_format(spec: JudgeSpec, model_id: str) -> dict[str, Any] | None:
    mode = spec.response_format
    if mode is None:
        if spec.kind != "hosted" or _supports_schema(model_id):
            mode = "json_schema"
        else:
            mode = "json_object"
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": reply_schema()}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def build_request(spec: JudgeSpec, system: str, user: str) -> CompletionRequest:
    """The judge's request (litellm-style keywords); ``spec.base_url`` must be set for non-hosted judges."""
    model_id = litellm_model_id(spec)
    request: CompletionRequest = {
        "model": model_id,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "timeout": spec.timeout,
        "api_key": spec.api_key,
    }
    fmt = response_format(spec, model_id)
    if fmt is not None:
        request["response_format"] = fmt
    if spec.base_url is not None:
        request["api_base"] = spec.base_url
    if not spec.model.lower().startswith("gpt-5"):
        request["temperature"] = 0
    if spec.reasoning_effort is not None:
        request["reasoning_effort"] = spec.reasoning_effort
        request["drop_params"] = True
    return request
