"""Google Business Messages channel for sbcore."""
