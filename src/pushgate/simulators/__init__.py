"""Faithful local stand-ins for every push provider (see docs/providers.md).

Each simulator is a request handler over :mod:`pushgate.simulators.base` types, served
by :mod:`pushgate.simulators.server` over HTTP/1.1 and HTTP/2. Production code never
imports this package.
"""
