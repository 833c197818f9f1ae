"""djsandbox: a Hydra-composed sandbox for data-model co-development.

Importing the package stays cheap: torch, lightning and data_juicer are imported only inside
the components that need them.
"""

__version__ = "0.1.0"
