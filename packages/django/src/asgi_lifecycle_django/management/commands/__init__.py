"""The ``lifecycle`` management command."""
