"""Every service's RPC declarations, imported together (fills shared.contracts.rpc.REGISTRY)."""

from shared.contracts import interview_feedback, screening, sourcing

__all__ = ["interview_feedback", "screening", "sourcing"]
