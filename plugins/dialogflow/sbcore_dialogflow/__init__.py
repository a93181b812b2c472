"""Dialogflow ES (v2 REST API) for sbcore."""
