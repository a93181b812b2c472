"""Google Cloud Translation (Basic, v2) for sbcore."""
