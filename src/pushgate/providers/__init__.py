"""One module per push provider: build the request, send it, map the answer to an outcome.

Providers never touch storage: they receive decrypted credentials and deliveries, and
return one :class:`~pushgate.core.outcomes.Outcome` per delivery.
"""
