"""Which environment variable holds which provider's key, and a `Redactor` of every such key that is set.

`PROVIDER_KEY_ENV` is the runner's list (docs/contract.md §9: the policy model's key pre-check);
`JUDGE_KEY_ENV` the judge's default variable per provider (§3). Everything printed or written by a run
passes through `key_redactor`, so a key from either list never leaves the process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from osmosis_local.redaction import Redactor

PROVIDER_KEY_ENV: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "cohere": "COHERE_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "fireworks_ai": "FIREWORKS_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "perplexity": "PERPLEXITYAI_API_KEY",
    "replicate": "REPLICATE_API_KEY",
    "deepinfra": "DEEPINFRA_API_KEY",
    "cerebras": "CEREBRAS_API_KEY",
    "ai21": "AI21_API_KEY",
    "sambanova": "SAMBANOVA_API_KEY",
    "nvidia_nim": "NVIDIA_NIM_API_KEY",
    "github": "GITHUB_API_KEY",
}

JUDGE_KEY_ENV: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "xai": "XAI_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "google": "GEMINI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "cerebras": "CEREBRAS_API_KEY",
    "azure": "AZURE_API_KEY",
    "bedrock": "AWS_ACCESS_KEY_ID",
    "vertex_ai": "GOOGLE_APPLICATION_CREDENTIALS",
}

_OTHER_SECRET_ENV = ("LITELLM_API_KEY", "OSMOSIS_JUDGE_API_KEY", "AWS_SECRET_ACCESS_KEY", "AZURE_API_KEY")
_NOT_SECRET = frozenset({"GOOGLE_APPLICATION_CREDENTIALS"})  # a file path, not a secret


def key_redactor(extra: Iterable[str | None] = ()) -> Redactor:
    """A `Redactor` of the providers' key variables (as set in the environment now) and the ``extra`` keys."""
    names = {*PROVIDER_KEY_ENV.values(), *JUDGE_KEY_ENV.values(), *_OTHER_SECRET_ENV} - _NOT_SECRET
    return Redactor.of([*(os.environ.get(name) for name in sorted(names)), *extra])
