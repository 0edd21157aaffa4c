"""Moved to `service.components` (shared by the app and the API); kept for older imports."""

from service.components import (
    FACTORY_ENV,
    Components,
    default_components,
    factory_spec,
    load_components,
)

__all__ = ["FACTORY_ENV", "Components", "default_components", "factory_spec", "load_components"]
