"""Error types shared by the judge (`evaluate_rubric`) and the runner, named as in the SDK contract."""

from __future__ import annotations


class MissingAPIKeyError(RuntimeError):
    """No API key could be resolved for a provider that needs one."""


class ProviderRequestError(RuntimeError):
    """A model provider request failed (transport, HTTP error, or an unusable reply)."""

    def __init__(self, provider: str, model: str, detail: str) -> None:
        self.provider = provider
        self.model = model
        self.detail = detail
        super().__init__(f"Provider '{provider}' request for model '{model}' failed. {detail}")


class ModelNotFoundError(ProviderRequestError):
    """The provider does not know the requested model."""
