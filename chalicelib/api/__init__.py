"""HTTP routes, as Chalice blueprints. Each route parses, calls one repository method, answers."""
