"""Every service's RPC declarations, imported together (fills shared.contracts.rpc.REGISTRY)."""

from shared.contracts import screening, sourcing

__all__ = ["screening", "sourcing"]
