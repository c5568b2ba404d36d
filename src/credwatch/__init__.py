"""credwatch: respond to a leaked email:password dump, privately and fast."""

__version__ = "0.1.0"

__all__ = ["__version__"]
