"""The agent workspace: ``GET /admin`` (the page), its sign-in and session
(``session``), ``POST /admin/api`` (``resources``) and its static files."""
