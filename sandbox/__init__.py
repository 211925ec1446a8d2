"""A local stand-in for the five providers (Mitto SMS, WhatsApp Cloud, Viber Bot, GBM, Telegram).

It speaks only HTTP, with each provider's real paths, shapes, auth checks and callback
signatures, so the gateway's adapters run unchanged against it in development, tests and
benchmarks. State lives in Redis so every gunicorn worker sees the same behaviours, recordings
and callback schedule.
"""
