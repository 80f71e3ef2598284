"""Where records come from: GraphQL (first) and REST v2 (fallback), both through ``etl.http.ZoomClient``.

``paginate`` holds the paginators, ``graphql`` the query documents and the ``errors[]`` policy, ``rest`` the
endpoint specs and Zoom's id encoding. Nothing here knows streams or state: ``etl.extract`` drives them.
"""
