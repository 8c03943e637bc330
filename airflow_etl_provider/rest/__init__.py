"""Building blocks of the REST API connector: auth strategies, paginators, records, HTTP client.

Each concept is one small contract with a few implementations, chosen by name from the
connection's config so users extend behaviour by configuration rather than code.
"""
