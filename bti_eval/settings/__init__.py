"""Settings: ``base`` holds what all environments share.

- ``embedded``: the laptop default (``make demo``): SQLite and a filesystem broker, no services.
- ``production``: 12-factor settings for docker-compose; refuses to start without SECRET_KEY.
- ``test``: PostgreSQL and Redis when reachable (required with CI=true), else SQLite and the
  filesystem broker.
"""
