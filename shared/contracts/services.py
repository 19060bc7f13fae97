"""Every service's RPC declarations, imported together (fills shared.contracts.rpc.REGISTRY)."""

from shared.contracts import notification, screening, talent_pool

__all__ = ["notification", "screening", "talent_pool"]
