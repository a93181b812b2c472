"""Importers of other support desks' data (``sbcore import-support-board``)."""
