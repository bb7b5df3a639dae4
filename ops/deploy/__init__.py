"""Deployment: the steps `make deploy` runs around `chalice deploy`, and `make package`."""
