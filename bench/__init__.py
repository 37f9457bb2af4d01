"""`make bench`: RDK measured against a bare-Django floor (see docs/performance.md).

Not an app and not installed: tooling run from the repository by
`manage.py bench`. `floor/` is the reference project, served by the same
gunicorn settings as RDK."""
