"""A Django app for test_django.py: one model with a pgvector VectorField and an HNSW index."""
