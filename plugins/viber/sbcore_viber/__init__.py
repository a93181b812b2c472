"""Viber REST bot API channel for sbcore."""
