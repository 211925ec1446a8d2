"""Provider callback endpoints: authenticate on the raw request, then apply the events.

``views`` holds the thin Django views; each concern lives in its own module: building the
framework-free ``CallbackRequest`` and the answers (``http``), finding the traffic account a
callback is addressed to (``accounts``), the verify-parse-apply pipeline (``processing``), the
provider-specific parts (``mitto_sms``, ``whatsapp``, ``gbm``), our callback addresses
(``addresses``) and registering them with providers (``registration``).
"""
