"""LINE Messaging API channel for sbcore."""
