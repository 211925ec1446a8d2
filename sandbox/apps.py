"""The sandbox as a Django app, only for its management commands (``run_sandbox``,
``provision_demo``). Settings install it when the package is present, which it is in a checkout
and in the sandbox image but not in the production image."""

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Provider sandbox (development only)"
