"""What SQL connectors share: table names, chunk conformance and the load template."""
