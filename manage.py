#!/usr/bin/env python
"""Django's command-line utility for RDK.

Refuses to run on a misconfigured environment (the full list of problems, no
traceback), except for `envcheck`, whose job is to report them. Each command
runs under a request id of its own, so its log lines can be followed."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rdk.settings")
    from rdk import env
    from rdk.requestid import bound_request_id, new_request_id

    # The same gate rdk.settings applies to every entry point, before Django loads.
    env.refuse_misconfigured(env.load(), sys.argv)

    from django.core.management import execute_from_command_line

    with bound_request_id(new_request_id(prefix="cmd-")):
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
