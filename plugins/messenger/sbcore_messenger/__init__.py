"""Facebook Messenger and Instagram channel for sbcore."""
