"""``sealcam report``: the oversight reports, one subcommand each.

Each module that makes a report adds its subcommand here, under the one ``report``
command: ``report review`` and ``report violations`` (``host.cli.review``), and the
allocation of recorders to units where the registers provide it.
"""

import argparse

from host import i18n


def add_report(sub: "argparse._SubParsersAction") -> "argparse._SubParsersAction":
    """The ``report`` command; returns its subparsers, for a module to add its report to."""
    from host.cli import review

    p = sub.add_parser("report", help=i18n.text("cmd.report"))
    reports = p.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    review.add_reports(reports)
    return reports
