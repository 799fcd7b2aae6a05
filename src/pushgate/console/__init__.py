"""The admin console: a static page that drives the same ``/v1`` API as every other client."""
