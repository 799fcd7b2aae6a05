"""The client kit pushgate serves itself: the web SDK and its service worker (docs/clients.md)."""
