"""Workers: fan notifications out into deliveries, send them, apply the outcomes."""
