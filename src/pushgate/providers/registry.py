"""From decrypted credentials to a provider client: one factory per credential kind.

Delivery workers call :func:`build_provider` with an app's ``ProviderCredentials`` and the
operator's :class:`ProviderOptions`. Each provider module is imported only when its kind is
first built, so a worker that sends only webhooks never loads the HTTP/2 transport.
"""

from __future__ import annotations

from collections.abc import Callable

from pushgate.errors import ConfigError
from pushgate.providers.base import Provider, ProviderCredentials
from pushgate.providers.options import ProviderOptions

ProviderFactory = Callable[[ProviderCredentials, ProviderOptions], Provider]


def _apns(credentials: ProviderCredentials, options: ProviderOptions) -> Provider:
    from pushgate.providers.apns import ApnsOptions, ApnsProvider

    apns_options = ApnsOptions(
        ca_files=options.ca_files,
        request_timeout=options.request_timeout,
        allow_private_targets=options.allow_private_targets,
        resolver=options.resolver,
    )
    return ApnsProvider(credentials, apns_options, clock=options.clock)


def _fcm(credentials: ProviderCredentials, options: ProviderOptions) -> Provider:
    from pushgate.providers.fcm import FcmOptions, FcmProvider

    fcm_options = FcmOptions(
        ca_files=options.ca_files,
        request_timeout=options.request_timeout,
        allow_private_targets=options.allow_private_targets,
        resolver=options.resolver,
    )
    return FcmProvider(credentials, fcm_options, clock=options.clock)


def _webpush(credentials: ProviderCredentials, options: ProviderOptions) -> Provider:
    from pushgate.providers.webpush import WebPushProvider

    return WebPushProvider(credentials, options)


def _wns(credentials: ProviderCredentials, options: ProviderOptions) -> Provider:
    from pushgate.providers.wns import WnsProvider

    return WnsProvider(credentials, options)


def _hms(credentials: ProviderCredentials, options: ProviderOptions) -> Provider:
    from pushgate.providers.hms import HmsProvider

    return HmsProvider(credentials, options)


def _webhook(credentials: ProviderCredentials, options: ProviderOptions) -> Provider:
    from pushgate.providers.webhook import WebhookProvider

    return WebhookProvider(credentials, options)


FACTORIES: dict[str, ProviderFactory] = {
    "apns": _apns,
    "fcm": _fcm,
    "webpush": _webpush,
    "wns": _wns,
    "hms": _hms,
    "webhook": _webhook,
}


def build_provider(
    credentials: ProviderCredentials, options: ProviderOptions | None = None
) -> Provider:
    """A provider client for ``credentials.kind``; close it when the app's pool retires."""
    factory = FACTORIES.get(credentials.kind)
    if factory is None:
        known = ", ".join(sorted(FACTORIES))
        raise ConfigError(f"no provider for kind {credentials.kind!r}; known: {known}")
    return factory(credentials, options or ProviderOptions())
