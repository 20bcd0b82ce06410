"""Scorers and the data contract. Nothing here knows about gRPC."""
