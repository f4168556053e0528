"""Loopback fake servers that answer like the real providers (127.0.0.1 only).

Each records what it received; tests take what they expect and the fixtures fail the
test on anything left over (a message nobody expected).
"""
