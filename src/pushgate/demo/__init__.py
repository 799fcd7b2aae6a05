"""``pushgate demo``: pushgate working end to end against its simulators, in one command.

It starts every provider simulator, a real ``pushgate serve`` on a throw-away data directory,
sets up an app with simulator credentials for every provider, registers devices of each
kind, sends one notification to all of them and shows what each simulated device received.
"""
