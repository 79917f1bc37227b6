"""The Postfix policy delegation service: protocol (pure), decisions (pure),
Redis counters, the submission recorder and the asyncio server."""
