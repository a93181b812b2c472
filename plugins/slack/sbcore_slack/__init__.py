"""Slack for sbcore: each conversation has a Slack channel where agents answer."""
