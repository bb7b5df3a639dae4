"""`manage.py migrate`: the legacy JSON files → DynamoDB, complete, verified and idempotent."""
