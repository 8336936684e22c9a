"""Items, interactions, catalogs from specs, recommender models, indexes and metrics."""
