"""``sealcam report``: the oversight reports, one subcommand each, from the modules that
know their subjects (the register's in ``host.cli.register``, the review's and the
violations' in ``host.cli.review``)."""

import argparse

from host import i18n


def add_report(sub: "argparse._SubParsersAction") -> None:
    from host.cli import register, review

    p = sub.add_parser(
        "report", help=i18n.text("cmd.report"), description=i18n.text("register.report_description")
    )
    reports = p.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    register.add_reports(reports)
    review.add_reports(reports)
