"""``make bench``: start the whole stack on its own ports, database and Redis db, drive it with
load, and write a JSON report and a markdown summary under ``bench/results/``.

The benchmark measures; it never judges. It exits 0 whatever the numbers are and non-zero only
when the stack could not be started, so CI can keep it as an informational job.
"""
