"""The web view for platform engineers (``/ui``): workloads, plans, drift — read through PlatformOperations."""

from service.ui.routes import UiController, error_page

__all__ = ["UiController", "error_page"]
