"""hireloop's own shared code: contracts, bus, config, storage, signed context."""
