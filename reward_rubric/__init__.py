"""LLM-judge rubric scorers (`@osmosis_rubric`): one module per judge provider."""
