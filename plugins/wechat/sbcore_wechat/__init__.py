"""WeChat Official Account channel for sbcore."""
