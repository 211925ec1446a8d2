"""Static file storage: hashed, compressed names once ``collectstatic`` ran, plain names before.

The Dockerfile and ``make run`` run ``collectstatic``, so production pages link to hashed files
that WhiteNoise serves with far-future cache headers. A test run or a fresh checkout has no
manifest yet; there a file keeps its plain name and WhiteNoise serves it straight from the app
that ships it (``WHITENOISE_USE_FINDERS``), instead of every page failing on a missing manifest.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class GatewayStaticFilesStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        """The hashed name from the manifest, or the plain name for a file not collected yet."""
        try:
            return super().stored_name(name)
        except ValueError:
            return name
