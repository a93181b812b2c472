"""WhatsApp Cloud API channel for sbcore."""
