"""The message bus: topology (what exists on RabbitMQ), the nameko extensions services use, and the
asyncio nameko-protocol RPC client the gateway uses."""
