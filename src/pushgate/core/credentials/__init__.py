"""Provider credentials: validation per kind, the public/secret split, and the read view.

``validate_credentials(kind, raw, allow_insecure_targets=...)`` returns a ``CredentialSet``;
store ``public`` and ``secret_fingerprints(box.fingerprint)`` in clear and
``secret_bytes()`` sealed with ``pushgate.core.secretbox.SecretBox`` (AAD
``b"app:<id>:<kind>"``); show ``describe(...)`` on reads and ``generated`` once, in the
answer to the write that made it.
"""

from pushgate.core.credentials.kinds import KINDS, validate_credentials
from pushgate.core.credentials.result import (
    CredentialSet,
    PublicValue,
    decode_secret,
    describe,
    encode_secret,
    fingerprints_of,
)

__all__ = [
    "KINDS",
    "CredentialSet",
    "PublicValue",
    "decode_secret",
    "describe",
    "encode_secret",
    "fingerprints_of",
    "validate_credentials",
]
