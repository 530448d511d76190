"""The review page: ``sealcam serve``, a web application on the evidence store.

``app.create_app`` builds it: one route module per area (``session`` the login and the
web session, ``dashboard``, ``search``, ``recording``, ``media``, ``approvals``), each
giving ``routes()`` and, where it belongs in the menu, ``MENU``. Everything goes through
``host.access.Desk``: one login per web session, and every look and every play an audit
record. Areas still to come (the review queue, the registers, the court-package export)
are one more module each, added to ``app.AREAS``.
"""
