"""The domain: models and rules, free of web frameworks, SQL and HTTP clients."""
