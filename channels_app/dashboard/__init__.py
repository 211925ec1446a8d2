"""The staff delivery dashboard inside the admin (``/admin/dashboard/``)."""
