"""A Zoom simulator: a real HTTP server on loopback that behaves like Zoom (OAuth, GraphQL, REST v2).

It is a separate house on the same street as the extractors: it shares no code with ``etl`` outside
``etl/simulator`` except the files both read (``schemas/zoom.graphql`` and Zoom's OpenAPI file).
"""
