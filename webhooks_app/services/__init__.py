"""Webhook services: subscriptions, event fan-out, signed delivery with retries, URL safety."""
