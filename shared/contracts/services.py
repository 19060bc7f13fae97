"""Every service's RPC declarations, imported together (fills shared.contracts.rpc.REGISTRY)."""

from shared.contracts import interview_feedback, notification, screening, sourcing, talent_pool

__all__ = ["interview_feedback", "notification", "screening", "sourcing", "talent_pool"]
