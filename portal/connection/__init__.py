"""The Chorus Pro connection as the portal runs it.

The client built from the settings (``factory``) with its health observer (``health``),
the technical password's expiry (``password_expiry``), the Système tab's connection test
and lookups (``diagnostics``, ``services``, ``views``), the go-live checklist (``golive``,
``golive_service``, ``golive_views``) and the throttle of actions that call Chorus many
times (``throttle``). The adapter itself, :mod:`portal.chorus`, knows nothing of the portal.
"""
