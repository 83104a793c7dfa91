"""HTTP controllers: request parsing and response shapes only; the work happens in service.operations."""
