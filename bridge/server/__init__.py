"""The gRPC server: a thin adapter between the wire and the pipeline."""

from bridge.server.app import DistillServer, ServerConfig, serve

__all__ = ["DistillServer", "ServerConfig", "serve"]
