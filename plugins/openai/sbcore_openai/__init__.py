"""OpenAI (Chat Completions) for sbcore."""
