"""A typed client for pushgate's API: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

from pushgate_client import Client

with Client("https://push.example.com", key="pg_...") as pushgate:
    pushgate.register_device("shop", {"provider": "apns", "token": "…", "user": "alice"})
    sent = pushgate.send_notification(
        {"app": "shop", "audience": {"users": ["alice"]}, "title": "Hi", "body": "…"}
    )
"""

from pushgate_client.calls import Call
from pushgate_client.client import AsyncClient, Client
from pushgate_client.errors import ApiError

__all__ = ["ApiError", "AsyncClient", "Call", "Client"]
