"""Telegram Bot API channel for sbcore."""
