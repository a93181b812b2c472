"""Clients of outside services, one module each: the request we send and the error
message we read back, nothing of the API functions that use them. Every base URL
comes from the caller (a setting, or ``SB_URL_<APP>`` through ``outbound.service_url``)."""
