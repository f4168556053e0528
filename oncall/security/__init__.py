"""Cross-cutting security: headers, login lock-out, API throttles, secret masking.

See README "Security" for what is signed, what is throttled and the production settings.
"""
