"""LocalLens: on-device AI vision effects. Nothing here touches the network."""

__version__ = "0.1.0"
APP_NAME = "LocalLens"
