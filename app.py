"""The Chalice app: wiring only. Lambda imports this at cold start, so it stays lean."""

from chalice.app import Chalice

from chalicelib.api.departments import departments
from chalicelib.api.events import events
from chalicelib.api.health import health
from chalicelib.api.http import chalice_errors_as_ours

app = Chalice(app_name="department-calendar", configure_logs=False)
app.api.cors = False

app.register_middleware(chalice_errors_as_ours, "http")
app.register_blueprint(health, url_prefix="/api")
app.register_blueprint(departments, url_prefix="/api")
app.register_blueprint(events, url_prefix="/api")
