"""The HTTP API: FastAPI routers that parse, call one service method, and render."""
